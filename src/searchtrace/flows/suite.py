"""The suite flow: several builds (tasks, k-mixes, sizes) in one flow run, each a build
subflow, run concurrently within the machine's cores, or all at once when `beam_args:`
sends them to a cluster. A build that fails does not stop the others; the suite then ends
failed and names which failed and why.

A suite file lists builds, each a config file (relative to the suite file) with optional
`set:` overrides merged into it section by section:

    concurrency: 2            # optional; default: the machine's cores (no limit on a cluster)
    beam_args:                # optional; Beam flags for every build, as after `build CONFIG`
      - --runner=apache_beam.runners.dask.dask_runner.DaskRunner
      - --dask_client_address=tcp://127.0.0.1:8786
    builds:
      - name: countdown-k3    # optional; default: the config's name
        config: countdown.yaml
        set: {traces: {k_mix: {3: 1.0}}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from searchtrace.config import load_config, read_yaml
from searchtrace.errors import BuildError, UserError
from searchtrace.flows.build import build_flow
from searchtrace.flows.cluster import check_beam_args, runs_on_cluster
from searchtrace.pipelines.outdir import check_out_path
from searchtrace.pipelines.storage import location


class SuiteBuild(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    config: str
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    overrides: dict[str, Any] = Field(default_factory=dict, alias="set")
    workers: int = Field(default=1, ge=1)


class SuiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    builds: list[SuiteBuild] = Field(min_length=1)
    concurrency: int | None = Field(default=None, ge=1)
    beam_args: list[str] = Field(default_factory=list)

    def concurrency_limit(self, cores: int) -> int:
        """How many builds run at once: at most `concurrency` and the number of builds,
        and on this machine at most its cores."""
        limit = min(len(self.builds), self.concurrency or len(self.builds))
        return limit if runs_on_cluster(self.beam_args) else min(limit, cores)


def load_suite(path: str | Path) -> tuple[SuiteConfig, dict[str, SuiteBuild]]:
    """The suite and its builds by output name, every config checked before anything runs;
    each problem is a one-line UserError naming the build."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"suite file not found: {path}")
    raw = read_yaml(path, "suite")
    try:
        suite = SuiteConfig.model_validate(raw)
    except ValidationError as error:
        item = error.errors()[0]
        where = ".".join(str(p) for p in item["loc"])
        raise UserError(f"invalid suite {path}: {where}: {item['msg']}") from None
    try:
        check_beam_args(suite.beam_args)
    except UserError as error:
        raise UserError(f"invalid suite {path}: {error}") from None
    named: dict[str, SuiteBuild] = {}
    for number, build in enumerate(suite.builds):
        config_path = (path.parent / build.config).resolve()
        try:
            config = load_config(config_path, build.overrides)
        except UserError as error:
            raise UserError(f"suite build {number} ({build.config}): {error}") from None
        name = build.name or config.name
        if name in named:
            raise UserError(f"suite builds {number} and an earlier one share the output name "
                            f"{name!r}; give each a distinct `name:`")
        named[name] = build.model_copy(update={"config": str(config_path)})
    return suite, named


@task(name="build-subflow", cache_policy=NO_CACHE, persist_result=False)
def run_member(name: str, build: SuiteBuild, out: str, options: dict[str, Any]) -> dict[str, Any]:
    """One build subflow; its failure is returned, not raised, so the others go on."""
    state = build_flow(config=build.config, out=str(location(out) / name),
                       overrides=build.overrides or None, workers=build.workers, isolate=True,
                       return_state=True, **options)
    if state.is_completed():
        return {"name": name, "ok": True, "manifest": state.result()}
    error = state.result(raise_on_failure=False)
    return {"name": name, "ok": False, "error": str(error) or state.message}


@flow(name="searchtrace-suite", persist_result=False)
def suite_flow(suite: str, out: str, force: bool = False, overwrite: bool = False,
               versioned: bool = False) -> dict[str, dict[str, Any]]:
    """Run every build of `suite` into `out/<name>`; returns each build's manifest."""
    config, builds = load_suite(suite)
    check_out_path(location(out), inputs=(Path(suite),))
    options = {"force": force, "overwrite": overwrite, "versioned": versioned,
               "beam_args": config.beam_args}
    futures = [run_member.submit(name, build, out, options) for name, build in builds.items()]
    outcomes = [future.result() for future in futures]
    failed = [o for o in outcomes if not o["ok"]]
    logger = get_run_logger()
    for outcome in outcomes:
        logger.info("%s: %s", outcome["name"], "built" if outcome["ok"] else outcome["error"])
    if failed:
        raise BuildError(f"{len(failed)} of {len(outcomes)} builds failed: "
                         + "; ".join(f"{o['name']} ({o['error']})" for o in failed)
                         + f". The others were published under {out}")
    return {o["name"]: o["manifest"] for o in outcomes}


def run_suite(suite: str | Path, out: str | Path, *, force: bool = False,
              overwrite: bool = False, versioned: bool = False) -> dict[str, dict[str, Any]]:
    """Check the suite, then run it with at most min(builds, `concurrency`) builds at a
    time, and on this machine at most its cores."""
    config, _ = load_suite(suite)
    runner = ThreadPoolTaskRunner(max_workers=config.concurrency_limit(os.cpu_count() or 1))
    return suite_flow.with_options(task_runner=runner)(
        suite=str(Path(suite).resolve()), out=str(location(out).resolve()), force=force,
        overwrite=overwrite, versioned=versioned)
