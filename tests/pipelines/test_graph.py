"""Each composite transform of the build graph on Beam's TestPipeline (the in-process
FnApiRunner), checked with `assert_that`: solving and staging waves (twice over, as a
runner retrying a bundle would), reading staged refs, selecting per bucket and writing
shards; and the shape of a round's graph that other runners rely on (one sink, no side
inputs)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from searchtrace.config import parse_config
from searchtrace.pipelines.graph import (
    ReadStagedRefs,
    SelectPerBucket,
    StageWaves,
    WriteShards,
    round_graph,
)
from searchtrace.pipelines.plan import BucketReason, BuildPlan, CandidateRange
from searchtrace.pipelines.selection import StagedRef
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


def ref_of(record: dict, path: Path) -> StagedRef:
    return StagedRef(record["split"], record["_bucket"], record["_index"], record["_level"],
                     record["problem_id"], str(path))


def refs_of(solved: list[SolvedBatch], path: Path) -> list[StagedRef]:
    return [ref_of(record, path) for batch in solved for record in batch.records]


def test_the_batches_solve_to_rows_and_rejections(solved: list[SolvedBatch]) -> None:
    assert sum(len(s.records) for s in solved) == 5
    rejected = BucketReason("train", 1, "linearize:not_enough_sound_dead_ends")
    assert solved[1].rejected == [rejected, rejected]


WAVES = [Wave(tuple(BATCHES[:2])), Wave(tuple(BATCHES[2:]))]


def stage(plan: BuildPlan, solved: list[SolvedBatch], stage_dir: Path) -> None:
    """Run StageWaves on WAVES as round 2 and check it emits a ref for every solved row,
    naming its wave's file."""
    first, second = (stage_dir / f"round-02-part-{wave.key}.parquet" for wave in WAVES)
    with beam_pipeline() as pipeline:
        refs = (pipeline | beam.Create(WAVES)
                | StageWaves(plan, str(stage_dir), 2, str(stage_dir.parent)))
        assert_that(refs, equal_to(refs_of(solved[:2], first) + refs_of(solved[2:], second)))


def test_stage_waves_writes_each_waves_file_and_passes_on_refs_to_it(
    plan: BuildPlan, solved: list[SolvedBatch], tmp_path: Path
) -> None:
    stage_dir = tmp_path / "staged"
    stage_dir.mkdir()
    stage(plan, solved, stage_dir)
    first, second = (stage_dir / f"round-02-part-{wave.key}.parquet" for wave in WAVES)
    assert staged_files(stage_dir, 2) == sorted([first, second])
    assert staged_files(stage_dir, 1) == []
    assert read_staged_batches(first).batches == (BATCHES[0].key, BATCHES[1].key)
    assert read_staged_batches(first).rejected == Counter(
        {BucketReason("train", 1, "linearize:not_enough_sound_dead_ends"): 2})
    assert read_staged_batches(second) == StagedBatches((BATCHES[2].key,), Counter())


def test_a_wave_staged_twice_leaves_the_same_single_file(
    plan: BuildPlan, solved: list[SolvedBatch], tmp_path: Path
) -> None:
    """A runner may run a bundle again (a retry, a lost worker's work redone): the wave's
    file is rewritten with the same bytes, never doubled."""
    stage_dir = tmp_path / "staged"
    stage_dir.mkdir()
    stage(plan, solved, stage_dir)
    written = {path.name: path.read_bytes() for path in stage_dir.iterdir()}
    assert len(written) == len(WAVES)
    stage(plan, solved, stage_dir)
    assert {path.name: path.read_bytes() for path in stage_dir.iterdir()} == written


def test_a_round_has_one_sink_and_no_side_inputs(plan: BuildPlan, tmp_path: Path) -> None:
    """Beam 2.77's DaskRunner computes only what the last transform needs and recomputes
    side inputs inside the tasks that read them: every transform must feed WriteShards
    through the main inputs."""
    pipeline = beam.Pipeline(options=PipelineOptions(flags=[], runner="FnApiRunner"))
    round_graph(pipeline, plan, WAVES, [str(tmp_path / "round-01-part-x.parquet")],
                stage_dir=tmp_path, round_number=2, data_dir=tmp_path, progress_dir=tmp_path)
    produced: set[beam.pvalue.PValue] = set()
    consumed: set[beam.pvalue.PValue] = set()
    side_inputs: list[str] = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: beam.pipeline.AppliedPTransform) -> None:
            produced.update(node.outputs.values())
            consumed.update(node.main_inputs.values())
            side_inputs.extend(node.full_label for _ in node.side_inputs)

    pipeline.visit(Visitor())
    assert side_inputs == []
    [sink] = produced - consumed
    assert sink.producer.full_label == "WriteShards/WriteShard"


def test_read_staged_refs_gives_the_refs_of_staged_files(
    solved: list[SolvedBatch], tmp_path: Path
) -> None:
    paths = [tmp_path / "round-01-part-a.parquet", tmp_path / "round-01-part-b.parquet"]
    for path, batch in zip(paths, (solved[0], solved[2]), strict=True):
        write_staged(batch.records, path, StagedBatches((batch.batch.key,), Counter()))
    with beam_pipeline() as pipeline:
        refs = pipeline | ReadStagedRefs([str(path) for path in paths])
        assert_that(refs, equal_to(refs_of(solved[:1], paths[0])
                                   + refs_of(solved[2:], paths[1])))


def ref(split: str, bucket: int, index: int, problem: str) -> StagedRef:
    return StagedRef(split, bucket, index, 0, problem, "staged.parquet")


def test_select_per_bucket_keeps_one_row_per_problem_then_each_buckets_first_rows(
    plan: BuildPlan
) -> None:
    # train: 2 rows of k=0 (bucket 0) and 2 of k=30 (bucket 1); test: 1 of each
    refs = [
        ref("train", 0, 0, "a"),  # problem a is also a test row: test keeps it
        ref("test", 0, 3, "a"),
        ref("train", 0, 1, "b"), ref("train", 0, 2, "c"), ref("train", 0, 7, "d"),
        ref("train", 1, 0, "b"),  # b again: the lower bucket keeps it
        ref("train", 1, 5, "e"), ref("train", 1, 4, "f"), ref("train", 1, 9, "g"),
        ref("test", 1, 2, "h"), ref("test", 1, 1, "i"),
    ]
    kept = [ref("test", 0, 3, "a"), ref("train", 0, 1, "b"), ref("train", 0, 2, "c"),
            ref("train", 1, 4, "f"), ref("train", 1, 5, "e"), ref("test", 1, 1, "i")]
    expected = [((r.split, shard_of(r.problem_id, plan.shards[r.split])), r) for r in kept]
    with beam_pipeline() as pipeline:
        selected = pipeline | beam.Create(refs) | SelectPerBucket(plan)
        assert_that(selected, equal_to(expected))


@pytest.fixture
def staged(solved: list[SolvedBatch], tmp_path: Path) -> Path:
    """A staged file holding every solved row."""
    path = tmp_path / "round-01-part-x.parquet"
    records = [record for batch in solved for record in batch.records]
    write_staged(records, path, StagedBatches(tuple(b.batch.key for b in solved), Counter()))
    return path


def test_write_shards_writes_every_shard_from_staging_and_keeps_one_already_there(
    solved: list[SolvedBatch], staged: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shards = {"train": 3, "test": 2}
    refs = refs_of(solved, staged)
    train = [r for r in refs if r.split == "train"][:2]
    test = [r for r in refs if r.split == "test"][:1]
    chosen = train + test
    selected = [((r.split, shard_of(r.problem_id, shards[r.split])), r) for r in chosen]
    kept_shard = shard_name("test", shard_of(test[0].problem_id, 2), 2)
    write_shard([], data / kept_shard)  # an interrupted attempt wrote it: it stays
    names = [shard_name(split, i, n) for split, n in shards.items() for i in range(n)]
    with beam_pipeline() as pipeline:
        written = pipeline | beam.Create(selected) | WriteShards(str(data), shards)
        assert_that(written, equal_to(names))
    assert sorted(p.name for p in data.iterdir()) == sorted(names)
    rows = {p.name: pq.read_table(p, columns=["problem_id"]).column(0).to_pylist()
            for p in data.iterdir()}
    assert rows[kept_shard] == []
    for r in train:
        assert r.problem_id in rows[shard_name("train", shard_of(r.problem_id, 3), 3)]
    assert sum(len(v) for v in rows.values()) == len(train)
