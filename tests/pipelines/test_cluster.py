"""Runner flags: the in-process runner unless one is named, one Dask partition per wave
unless the caller chose the partitioning, and `--workers 2` without the cluster extra
refused as a user error before anything is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.flows.steps import run_build
from searchtrace.pipelines.cluster import DASK_RUNNER, round_flags, write_partitions
from tests.conftest import SMALL_COUNTDOWN

ON_DASK = [f"--runner={DASK_RUNNER}", "--dask_client_address=tcp://127.0.0.1:8786"]


def test_a_round_runs_in_process_unless_a_runner_is_named() -> None:
    assert round_flags([], 16) == ["--runner=FnApiRunner"]
    assert round_flags(["--direct_num_workers=2"], 16) == ["--direct_num_workers=2",
                                                           "--runner=FnApiRunner"]
    portable = ["--runner=PortableRunner", "--job_endpoint=localhost:8099"]
    assert round_flags(portable, 16) == portable


def test_on_dask_each_wave_gets_a_partition_unless_the_caller_chose() -> None:
    assert round_flags(ON_DASK, 16) == [*ON_DASK, "--dask_npartitions=16"]
    assert round_flags(ON_DASK, 0) == [*ON_DASK, "--dask_npartitions=1"]
    for chosen in ("--dask_npartitions=3", "--dask_partition_size=8"):
        assert round_flags([*ON_DASK, chosen], 16) == [*ON_DASK, chosen]


def test_the_writing_gets_about_the_square_root_of_its_files_in_partitions() -> None:
    """Beam's DaskRunner groups by shard with a task shuffle whose task count grows with
    the square of the partitions."""
    assert [write_partitions(files) for files in (0, 1, 3, 4, 16, 1000)] == [1, 1, 1, 2, 4, 31]


def test_workers_without_the_cluster_extra_is_a_user_error_that_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(UserError, match=r"--workers 2: .*searchtrace\[cluster\]"):
        run_build(parse_config(SMALL_COUNTDOWN), tmp_path / "out", workers=2)
    assert list(tmp_path.iterdir()) == []
