"""Progress of a running round: the processes that solve count the candidates they
finished in heartbeat files (`pipelines.solve`), and the driver sums them while the
pipeline runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import apache_beam as beam

from searchtrace.pipelines.storage import Location

ProgressCallback = Callable[[str, int, int], None]  # (label, done, total)


def run_with_progress(
    pipeline: beam.Pipeline, progress_dir: Location, total: int,
    progress: ProgressCallback | None, label: str,
) -> Any:
    """Run the pipeline; meanwhile report the candidates processed so far across workers."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = run_to_end(pipeline)
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        if progress is not None:
            progress(label, processed(progress_dir), total)
    if "error" in outcome:
        raise outcome["error"]
    if progress is not None:
        progress(label, total, total)
    return outcome["result"]


def run_to_end(pipeline: beam.Pipeline) -> Any:
    """Run the pipeline and wait for it (`wait_to_end`)."""
    return wait_to_end(pipeline.run())


def wait_to_end(result: Any) -> Any:
    """Wait for a pipeline run's `result`; the runner's Dask client, if any, is closed
    whatever the outcome."""
    try:
        result.wait_until_finish()
    finally:
        _close_client(result)
    return result


def _close_client(result: Any) -> None:
    """Beam's DaskRunner opens a Dask client for every run and never closes it (its
    result keeps it as `client`); without this a build leaks one connection per round."""
    client = getattr(result, "client", None)
    if client is not None:
        client.close()


def processed(progress_dir: Location) -> int:
    """The candidates the heartbeat files in `progress_dir` count."""
    done = 0
    for path in progress_dir.glob("*.count"):
        try:
            done += int(path.read_text() or 0)
        except (OSError, ValueError):  # FileNotFoundError too: a listed file just removed
            continue  # a heartbeat being rewritten; the next poll reads it
    return done
