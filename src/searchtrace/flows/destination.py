"""Where a planned build lands: the folder it publishes, the staging folder it is made in,
whether the same build is already there, what it may replace, and the move into place.

A build never replaces what is not its own: a folder it replaces must be a searchtrace
dataset or empty (`pipelines.outdir`), replacing one needs `--overwrite` (or `--force`),
and what was at the output is checked again when the dataset is moved there. The caller
holds the output's lock throughout. On an object store the move is a commit
(`pipelines.storage.commit_folder`): the replaced dataset's commit marker goes first, then
its objects, then the new dataset's objects are copied in and its marker written, so a
reader sees the old dataset, no dataset, or the new one, never a mixture.
"""

from __future__ import annotations

from dataclasses import dataclass

from searchtrace.errors import BuildError, UserError
from searchtrace.flows.versions import LATEST, has_latest, is_cached, version_folder
from searchtrace.pipelines.outdir import check_replaceable, occupied
from searchtrace.pipelines.plan import BuildPlan
from searchtrace.pipelines.storage import Location, remove_tree, replace_folder


@dataclass(frozen=True)
class Destination:
    """Where a planned build goes, and what is there already."""

    final: Location  # where the dataset is published
    staging: Location
    root: Location | None  # a versioned build's folder of versions (with `latest`)
    cached: bool  # `final` already holds this build's dataset
    replace: bool  # `final` holds a folder this build may replace (checked again on publish)


def final_folder(plan: BuildPlan, out: Location, *, versioned: bool) -> Location:
    """Where the dataset is published: `out`, or versioned, `out/v-<key>`."""
    return version_folder(out, plan.key) if versioned else out


def staging_folder(final: Location, key: str) -> Location:
    """Where the build with `key` for `final` is made: hidden beside it, one per key, so a
    second attempt finds the first one's work."""
    return final.parent / f".{final.name}.staging-{key[:16]}"


def locate(plan: BuildPlan, out: Location, *, versioned: bool = False, force: bool = False,
           overwrite: bool = False, reuse: bool = True) -> Destination:
    """Where the build of `plan` goes, given `--out` and the flags, after checking that it
    may go there. With `reuse`, a folder already holding this build's intact dataset is
    a cache hit (the flow's; `force` rebuilds it, and clears the staging folder)."""
    root = out if versioned else None
    final = final_folder(plan, out, versioned=versioned)
    if final.exists() and not final.is_dir():
        raise UserError(f"output path is not a folder: {final}")
    if root is not None and (root / "manifest.json").exists():
        raise UserError(f"{root} is a dataset folder, not a folder of versions; give "
                        "--versioned builds their own --out")
    if root is None and has_latest(final):
        raise UserError(f"{final} is a folder of versions (it has `{LATEST}`); build into it "
                        "with --versioned or choose another --out")
    cached = reuse and not force and is_cached(final, plan.key)
    replace = occupied(final) and not cached
    if replace:
        check_replaceable(final)
        if root is not None and not force:
            raise BuildError(f"version folder {final} exists but does not match its manifest; "
                             "pass --force to rebuild it")
        if root is None and not (overwrite or force):
            if not reuse:
                raise UserError(f"output folder exists: {final}; pass --overwrite to replace "
                                "it")
            raise UserError(f"output folder exists and holds another build (another config, "
                            f"code or schema version): {final}; pass --overwrite to replace "
                            "it, or build with --versioned to keep both")
    staging = staging_folder(final, plan.key)
    if force:
        remove_tree(staging)
    return Destination(final, staging, root, cached, replace)


def publish(dataset: Location, out: Location, *, replace: bool) -> None:
    """Move the finished dataset into place; a replaced one is removed only afterwards.

    The caller holds the output lock and says what its plan saw at `out`: nothing, or
    (`replace`) a folder it may replace. That is checked again here, so a folder that
    appeared during the build, or one the user filled meanwhile, is never replaced.
    """
    if occupied(out):
        if not replace:
            raise UserError(f"{out} appeared while the build ran; nothing was replaced. The "
                            f"finished dataset waits in {dataset.parent}: run again with "
                            "--overwrite to publish it there, or choose another --out")
        check_replaceable(out)
    replace_folder(dataset, out)
