"""Orchestration around builds: the validation gate a dataset must pass to be published."""
