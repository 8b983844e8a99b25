"""Errors a user can fix: the CLI prints them on one line and exits with code 2."""


class UserError(Exception):
    """Bad input from the user (config, arguments, paths): reported as one line, exit code 2."""


class BuildError(Exception):
    """A build that could not meet what was asked (e.g. a k bucket ran short): exit code 1."""
