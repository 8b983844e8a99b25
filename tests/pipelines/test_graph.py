"""Each composite transform of the build graph on Beam's TestPipeline (the in-process
FnApiRunner), checked with `assert_that`: solving candidates (inline and in a solver pool),
staging rows and writing shards from the selected staged rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from searchtrace.config import parse_config
from searchtrace.pipelines.graph import SolveCandidates, StageRows, WriteShards
from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.solver_pool import SolvedBatch, solve_batch, solver_pool
from searchtrace.pipelines.writer import (
    StagedBatches,
    read_staged_batches,
    shard_name,
    shard_of,
    staged_files,
    write_shard,
    write_staged,
)

# k=30 with dead ends of one move cannot be linearized: that bucket's candidates are
# rejections, the k=0 buckets' are rows.
CONFIG = {"name": "graph-test", "task": {"name": "countdown", "preset": "easy"},
          "traces": {"k_mix": {0: 0.5, 30: 0.5}, "max_dead_end_length": 1},
          "splits": {"train": 4, "test": 2}, "seed": 3, "output": {"rows_per_shard": 2}}
BATCHES = [CandidateRange("train", 0, 0, 0, 3), CandidateRange("train", 30, 1, 0, 2),
           CandidateRange("test", 0, 0, 0, 2)]


def beam_pipeline() -> BeamTestPipeline:
    """A TestPipeline on the in-process runner (never the DirectRunner's download)."""
    return BeamTestPipeline(options=PipelineOptions(flags=[], runner="FnApiRunner"))


@pytest.fixture(scope="module")
def plan() -> BuildPlan:
    return BuildPlan.of(parse_config(CONFIG))


@pytest.fixture(scope="module")
def solved(plan: BuildPlan, tmp_path_factory: pytest.TempPathFactory) -> list[SolvedBatch]:
    """The batches solved directly, outside Beam."""
    progress = tmp_path_factory.mktemp("progress")
    return [solve_batch(plan, batch, str(progress)) for batch in BATCHES]


@pytest.mark.parametrize("workers", [0, 2])
def test_solve_candidates_gives_each_batch_its_rows_and_rejections(
    plan: BuildPlan, solved: list[SolvedBatch], tmp_path: Path, workers: int
) -> None:
    """Inline (no pool) and in a pool of two processes alike."""
    assert sum(len(s.records) for s in solved) == 5
    rejected = BucketReason("train", 1, "linearize:not_enough_sound_dead_ends")
    assert solved[1].rejected == [rejected, rejected]
    with solver_pool(workers) as token, beam_pipeline() as pipeline:
        out = (pipeline
               | beam.Create(BATCHES)
               | SolveCandidates(plan, str(tmp_path), token))
        assert_that(out, equal_to(solved))


def test_stage_rows_writes_whole_batches(solved: list[SolvedBatch], tmp_path: Path) -> None:
    with beam_pipeline() as pipeline:
        passed_on = pipeline | beam.Create(solved) | StageRows(str(tmp_path), 2)
        assert_that(passed_on, equal_to([]))
    [path] = staged_files(tmp_path, 2)
    assert path.name.startswith("round-02-part-")
    recorded = read_staged_batches(path)
    assert sorted(recorded.batches) == sorted(batch.key for batch in BATCHES)
    assert recorded.rejected == Counter(
        {BucketReason("train", 1, "linearize:not_enough_sound_dead_ends"): 2})
    assert staged_files(tmp_path, 1) == []


def test_write_shards_writes_every_shard_from_selected_rows_and_keeps_one_already_there(
    solved: list[SolvedBatch], tmp_path: Path
) -> None:
    """Two staged files, the selection of each naming some of its rows (one with a drop
    level): every shard is written, each with exactly its selected rows."""
    staged = [tmp_path / "round-01-part-a.parquet", tmp_path / "round-01-part-b.parquet"]
    write_staged(solved[0].records, staged[0], StagedBatches((BATCHES[0].key,), Counter()))
    write_staged(solved[2].records, staged[1], StagedBatches((BATCHES[2].key,), Counter()))
    train, test = solved[0].records[:2], solved[2].records[:1]
    files = []
    for path, records, drops in ((staged[0], train, ["", "all"]), (staged[1], test, [""])):
        pq.write_table(pa.table({"_key": [r["_key"] for r in records], "drop": drops}),
                       path.with_suffix(".selection.parquet"))
        files.append((str(path), str(path.with_suffix(".selection.parquet")),
                      str(path.with_suffix(".arrow"))))
    data = tmp_path / "data"
    data.mkdir()
    shards = {"train": 3, "test": 2}
    kept_shard = shard_name("test", shard_of(test[0]["problem_id"], 2), 2)
    write_shard([], data / kept_shard)  # an interrupted attempt wrote it: it stays
    names = [shard_name(split, i, n) for split, n in shards.items() for i in range(n)]
    with beam_pipeline() as pipeline:
        written = pipeline | beam.Create(files) | WriteShards(str(data), shards)
        assert_that(written, equal_to(names))
    assert sorted(p.name for p in data.iterdir()) == sorted(names)
    rows = {p.name: pq.read_table(p, columns=["id", "drop"]).to_pylist()
            for p in data.iterdir()}
    assert rows[kept_shard] == []
    for record, drop in zip(train, ["", "all"], strict=True):
        shard = shard_name("train", shard_of(record["problem_id"], 3), 3)
        assert {"id": record["id"], "drop": drop} in rows[shard]
    assert sum(len(v) for v in rows.values()) == len(train)
