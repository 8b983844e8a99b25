"""Beam transforms of a build, each with one job and a label.

Round pipelines: candidates -> GenerateProblems -> DropDuplicates -> SolveRenderVerify ->
StageRows. The final pipeline: staged files -> SelectRows -> WriteShards. Every dropped
candidate increments a Beam counter named `reject|<split>|<k>|<reason>`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from searchtrace.config import BuildConfig
from searchtrace.pipelines.plan import Candidate
from searchtrace.pipelines.process import Generated, Rejected, build_row, generate_candidate
from searchtrace.pipelines.writer import shard_name, shard_of, write_shard, write_staged
from searchtrace.registry import get_task

COUNTER_NAMESPACE = "searchtrace"
STAGE_FLUSH_ROWS = 2000


def count_rejection(split: str, k: int, reason: str) -> None:
    Metrics.counter(COUNTER_NAMESPACE, f"reject|{split}|{k}|{reason}").inc()


class GenerateProblems(beam.DoFn):
    """Candidate -> (problem id, Generated); generator skips are counted and dropped."""

    def __init__(self, config_json: str) -> None:
        self.config_json = config_json

    def setup(self) -> None:
        self.config = BuildConfig.model_validate_json(self.config_json)
        self.task = get_task(self.config.task.name)
        self.task_config = self.config.task_config()

    def process(self, candidate: Candidate) -> Iterator[tuple[str, Generated]]:
        result = generate_candidate(self.task, self.task_config, candidate, self.config.seed)
        if isinstance(result, Rejected):
            count_rejection(candidate.split, candidate.k, result.reason)
            return
        yield result.problem.id, result


def _priority(generated: Generated) -> tuple[int, int, int]:
    candidate = generated.candidate
    return (0 if candidate.split == "test" else 1, candidate.bucket, candidate.index)


class DropDuplicates(beam.DoFn):
    """Keep one candidate per problem id: test before train, then bucket, then index.

    Ids already used by an earlier round are dropped too, so no problem repeats within a
    split and none is shared between train and test.
    """

    def __init__(self, earlier_ids: frozenset[str]) -> None:
        self.earlier_ids = earlier_ids

    def process(self, keyed: tuple[str, Iterable[Generated]]) -> Iterator[Generated]:
        problem_id, group = keyed
        ranked = sorted(group, key=_priority)
        keep = None if problem_id in self.earlier_ids else ranked[0]
        for generated in ranked:
            if generated is keep:
                continue
            candidate = generated.candidate
            crosses = keep is not None and keep.candidate.split != candidate.split
            reason = "dedup:overlaps_other_split" if crosses else "dedup:duplicate"
            count_rejection(candidate.split, candidate.k, reason)
        if keep is not None:
            yield keep


class SolveRenderVerify(beam.DoFn):
    """Generated -> a verified row record (with its bucket and index), or a counted reason."""

    HEARTBEAT_SECONDS = 0.5

    def __init__(self, config_json: str, progress_dir: str) -> None:
        self.config_json = config_json
        self.progress_dir = progress_dir

    def setup(self) -> None:
        self.config = BuildConfig.model_validate_json(self.config_json)
        self.task = get_task(self.config.task.name)
        self.progress_file = Path(self.progress_dir) / f"{uuid.uuid4().hex}.count"
        self.done = 0
        self.last_beat = 0.0

    def process(self, generated: Generated) -> Iterator[dict[str, Any]]:
        result = build_row(self.config, self.task, generated)
        self._beat()
        candidate = generated.candidate
        if isinstance(result, Rejected):
            count_rejection(candidate.split, candidate.k, result.reason)
            return
        record = result.to_record()
        record["_bucket"] = candidate.bucket
        record["_index"] = candidate.index
        yield record

    def finish_bundle(self) -> None:
        self._beat(force=True)

    def _beat(self, force: bool = False) -> None:
        self.done += 0 if force else 1
        now = time.monotonic()
        if force or now - self.last_beat >= self.HEARTBEAT_SECONDS:
            self.progress_file.write_text(str(self.done))
            self.last_beat = now


class StageRows(beam.DoFn):
    """Write verified rows to staging Parquet files, a bundle (or 2,000 rows) at a time."""

    def __init__(self, stage_dir: str) -> None:
        self.stage_dir = stage_dir

    def start_bundle(self) -> None:
        self.buffer: list[dict[str, Any]] = []

    def process(self, record: dict[str, Any]) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= STAGE_FLUSH_ROWS:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self.buffer:
            write_staged(self.buffer, Path(self.stage_dir))
            self.buffer = []


class SelectRows(beam.DoFn):
    """Staged file -> ((split, shard), row) for rows within their bucket's selection.

    A bucket keeps its first `requested` verified candidates by index: `cutoffs` maps
    (split, bucket) to the largest index kept.
    """

    def __init__(self, cutoffs: dict[tuple[str, int], int], shards: dict[str, int]) -> None:
        self.cutoffs = cutoffs
        self.shards = shards

    def process(self, path: str) -> Iterator[tuple[tuple[str, int], dict[str, Any]]]:
        for record in pq.read_table(path).to_pylist():
            bucket = record.pop("_bucket")
            index = record.pop("_index")
            if index <= self.cutoffs.get((record["split"], bucket), -1):
                split = record["split"]
                yield (split, shard_of(record["problem_id"], self.shards[split])), record


class WriteShards(beam.DoFn):
    """((split, shard), rows) -> the shard file, written deterministically; yields its name."""

    def __init__(self, data_dir: str, shards: dict[str, int]) -> None:
        self.data_dir = data_dir
        self.shards = shards

    def process(self, keyed: tuple[tuple[str, int], Iterable[dict | None]]) -> Iterator[str]:
        (split, shard), records = keyed
        name = shard_name(split, shard, self.shards[split])
        write_shard((r for r in records if r is not None), Path(self.data_dir) / name)
        yield name
