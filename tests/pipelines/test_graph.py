"""Each composite transform of the build graph on Beam's TestPipeline (the in-process
FnApiRunner), checked with `assert_that`: solving and staging waves (twice over, as a
runner retrying a bundle would) and writing shards from the selected staged rows; and the
shape of both graphs that other runners rely on (one sink, no side inputs)."""

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
from searchtrace.pipelines.graph import (
    ReplayShards,
    StageWaves,
    WriteShards,
    replay_graph,
    round_graph,
    write_graph,
)
from searchtrace.pipelines.outputs import sha256_of
from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.reverify import read_replay, replay_path
from searchtrace.pipelines.solve import SolvedBatch, solve_batch
from searchtrace.pipelines.waves import Wave
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


def test_the_batches_solve_to_rows_and_rejections(solved: list[SolvedBatch]) -> None:
    assert sum(len(s.records) for s in solved) == 5
    rejected = BucketReason("train", 1, "linearize:not_enough_sound_dead_ends")
    assert solved[1].rejected == [rejected, rejected]


WAVES = [Wave(tuple(BATCHES[:2])), Wave(tuple(BATCHES[2:]))]


def stage(plan: BuildPlan, stage_dir: Path) -> None:
    """Run StageWaves on WAVES as round 2 and check it emits each wave's file, once."""
    paths = [str(stage_dir / f"round-02-part-{wave.key}.parquet") for wave in WAVES]
    with beam_pipeline() as pipeline:
        emitted = (pipeline | beam.Create(WAVES)
                   | StageWaves(plan, str(stage_dir), 2, str(stage_dir.parent)))
        assert_that(emitted, equal_to(paths))


def test_stage_waves_writes_each_waves_file_with_its_rows(
    plan: BuildPlan, solved: list[SolvedBatch], tmp_path: Path
) -> None:
    stage_dir = tmp_path / "staged"
    stage_dir.mkdir()
    stage(plan, stage_dir)
    first, second = (stage_dir / f"round-02-part-{wave.key}.parquet" for wave in WAVES)
    assert staged_files(stage_dir, 2) == sorted([first, second])
    assert staged_files(stage_dir, 1) == []
    assert read_staged_batches(first).batches == (BATCHES[0].key, BATCHES[1].key)
    assert read_staged_batches(first).rejected == Counter(
        {BucketReason("train", 1, "linearize:not_enough_sound_dead_ends"): 2})
    assert read_staged_batches(second) == StagedBatches((BATCHES[2].key,), Counter())
    keys = [pq.read_table(path, columns=["_key"])["_key"].to_pylist()
            for path in (first, second)]
    assert keys == [[r["_key"] for s in solved[:2] for r in s.records],
                    [r["_key"] for r in solved[2].records]]


def test_a_wave_staged_twice_leaves_the_same_single_file(plan: BuildPlan,
                                                         tmp_path: Path) -> None:
    """A runner may run a bundle again (a retry, a lost worker's work redone): the wave's
    file is rewritten with the same bytes, never doubled."""
    stage_dir = tmp_path / "staged"
    stage_dir.mkdir()
    stage(plan, stage_dir)
    written = {path.name: path.read_bytes() for path in stage_dir.iterdir()}
    assert len(written) == len(WAVES)
    stage(plan, stage_dir)
    assert {path.name: path.read_bytes() for path in stage_dir.iterdir()} == written


def sinks_and_side_inputs(pipeline: beam.Pipeline) -> tuple[list[str], list[str]]:
    """The transforms whose outputs nothing consumes, and those reading side inputs."""
    produced: set[beam.pvalue.PValue] = set()
    consumed: set[beam.pvalue.PValue] = set()
    side_inputs: list[str] = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            produced.update(node.outputs.values())
            consumed.update(node.main_inputs.values())
            side_inputs.extend(node.full_label for _ in node.side_inputs)

    pipeline.visit(Visitor())
    return sorted(p.producer.full_label for p in produced - consumed), side_inputs


def test_each_graph_has_one_sink_and_no_side_inputs(plan: BuildPlan, tmp_path: Path) -> None:
    """Beam 2.77's DaskRunner computes only what the last transform needs and recomputes
    side inputs inside the tasks that read them: in a round and in the writing alike,
    every transform must feed the one sink through the main inputs."""
    rounds = beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner"))
    round_graph(rounds, plan, WAVES, stage_dir=tmp_path, round_number=2,
                progress_dir=tmp_path)
    assert sinks_and_side_inputs(rounds) == (["StageWaves/StageWave"], [])
    writing = beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner"))
    write_graph(writing, [("a", "b", "c")], tmp_path, {"train": 2, "test": 1})
    assert sinks_and_side_inputs(writing) == (["WriteShards/WriteShard"], [])
    replay = beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner"))
    replay_graph(replay, ["a"], tmp_path, tmp_path, 1.0)
    assert sinks_and_side_inputs(replay) == (["ReplayShards/ReplayShard"], [])


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
    data, replays = tmp_path / "data", tmp_path / "replayed"
    data.mkdir()
    replays.mkdir()
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
    # each shard's rows are replayed from the file's bytes, the dropped one included
    with beam_pipeline() as pipeline:
        replayed = pipeline | beam.Create(names) | ReplayShards(str(data), str(replays), 1.0)
        assert_that(replayed, equal_to(names))
    for name in names:
        replay = read_replay(replay_path(replays, name))
        assert replay is not None and replay.sha256 == sha256_of(data / name)
        assert (replay.checked, replay.failed) == (len(rows[name]), ())
