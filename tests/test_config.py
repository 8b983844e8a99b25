"""The build config: parsing, preset resolution, and one-line errors that name the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from searchtrace.config import MAX_K, BuildConfig, load_config, parse_config
from searchtrace.errors import UserError
from searchtrace.solvers.registry import solver_names
from searchtrace.tasks import all_tasks
from searchtrace.tasks.countdown.generate import CountdownConfig
from searchtrace.tasks.sudoku.generate import SudokuConfig

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CONFIGS = sorted(p for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith(("suite", "sweep-")))
MINIMAL: dict[str, Any] = {"task": {"name": "countdown"}}


def with_(section: str, **values: Any) -> dict[str, Any]:
    """The minimal config with `section` set (merged into it when it is a mapping)."""
    raw = copy.deepcopy(MINIMAL)
    if values and section in raw:
        raw[section].update(values)
    elif values:
        raw[section] = values
    return raw


def error_of(raw: Any) -> str:
    with pytest.raises(UserError) as error:
        parse_config(raw)
    message = str(error.value)
    assert "\n" not in message, message
    return message


# ---- what a good config resolves to ----------------------------------------------------


def test_minimal_config_takes_every_default_and_the_medium_preset() -> None:
    config = parse_config(MINIMAL)
    assert isinstance(config, BuildConfig)
    assert config.task.name == "countdown" and config.task.preset == "medium"
    assert config.solver.name == "dfs" and config.solver.node_budget == 20_000
    assert config.traces.k_mix == {0: 0.25, 1: 0.25, 3: 0.25, 5: 0.25}
    assert config.traces.placement == "uniform" and config.traces.style == "natural"
    assert config.splits == {"train": 1000, "test": 100}
    assert config.seed == 0
    knobs = config.task_config()
    assert knobs == CountdownConfig(count=4, number_range=(1, 25), target_range=(10, 100))
    resolved = config.resolved()
    assert resolved["task"]["knobs"] == {"count": 4, "number_range": [1, 25],
                                         "target_range": [10, 100], "test_targets": [],
                                         "allow_fractions": False}
    assert yaml.safe_load(yaml.safe_dump(resolved)) == resolved  # written out as YAML


def test_knobs_override_the_preset() -> None:
    config = parse_config(with_("task", preset="hard", knobs={"count": 5}))
    knobs = config.task_config()
    assert knobs.count == 5  # the override
    assert knobs.number_range == (1, 50) and knobs.target_range == (100, 999)  # the preset
    assert config.resolved()["task"]["knobs"]["count"] == 5
    sudoku = parse_config({"task": {"name": "sudoku", "preset": "easy", "knobs": {"givens": 8}}})
    assert sudoku.task_config() == SudokuConfig(size=4, givens=8)


def test_k_mix_is_sorted_and_natural_is_accepted() -> None:
    config = parse_config(with_("traces", k_mix={5: 0.5, 0: 0.25, 2: 0.25}))
    assert list(config.traces.k_mix) == [0, 2, 5]
    assert parse_config(with_("traces", k_mix="natural")).traces.k_mix == "natural"
    assert parse_config(with_("traces", k_mix={MAX_K: 1.0})).traces.k_mix == {64: 1.0}
    assert parse_config(with_("traces", k_mix={0: 1 / 3, 1: 1 / 3, 2: 1 / 3})).traces.k_mix


def test_splits_are_put_in_split_order() -> None:
    config = parse_config({**MINIMAL, "splits": {"test": 5, "train": 7}})
    assert list(config.splits.items()) == [("train", 7), ("test", 5)]
    assert parse_config({**MINIMAL, "splits": {"test": 3}}).splits == {"test": 3}


def test_config_is_frozen() -> None:
    config = parse_config(MINIMAL)
    with pytest.raises(Exception, match="frozen"):
        config.seed = 3  # type: ignore[misc]


# ---- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (with_("traces", k_mix={0: 0.5, 1: 0.4}), "traces.k_mix: shares must sum to 1, got 0.9"),
        (with_("traces", k_mix={0: 0.75, 1: 0.75}), "sum to 1"),
        (with_("traces", k_mix={65: 1.0}), "k must be between 0 and 64, got [65]"),
        (with_("traces", k_mix={-1: 1.0}), "k must be between 0 and 64, got [-1]"),
        (with_("traces", k_mix={0: 0.0, 1: 1.0}), "shares must be in (0, 1], got [0.0]"),
        (with_("traces", k_mix={0: -0.5, 1: 1.5}), "shares must be in (0, 1]"),
        (with_("traces", k_mix={}), 'must name at least one k, or be "natural"'),
        (with_("traces", k_mix="all"), "traces.k_mix"),
        (with_("traces", placement="middle"), "traces.placement"),
        (with_("traces", style="verbose"), "traces.style"),
        (with_("traces", max_dead_end_length=0), "traces.max_dead_end_length"),
        ({**MINIMAL, "splits": {"validation": 10}},
         "splits: split names must be among train, test, got ['validation']"),
        ({**MINIMAL, "splits": {"train": 0}},
         "splits: row counts must be between 1 and 100000000, got {'train': 0}"),
        ({**MINIMAL, "splits": {"train": 10, "test": -1}}, "got {'test': -1}"),
        ({**MINIMAL, "seed": -1}, "seed:"),
        ({**MINIMAL, "solver": {"node_budget": 0}}, "solver.node_budget"),
        ({**MINIMAL, "solver": {"name": "beam_search"}}, "solver.name"),
        ({**MINIMAL, "output": {"rows_per_shard": 0}}, "output.rows_per_shard"),
        ({**MINIMAL, "name": ""}, "name:"),
        ({**MINIMAL, "sead": 3}, "sead: Extra inputs are not permitted"),
        (with_("traces", k_max=3), "traces.k_max"),
        (with_("task", preset="extreme"), "task.preset"),
        ({"name": "no-task"}, "task"),
    ],
)
def test_errors_name_the_field(raw: dict, says: str) -> None:
    message = error_of(raw)
    assert message.startswith("invalid config: "), message
    assert says in message, message


def test_unknown_task_names_the_allowed_tasks() -> None:
    message = error_of({"task": {"name": "chess"}})
    assert "'chess'" in message
    assert f"allowed: {', '.join(sorted(all_tasks()))}" in message
    assert "countdown" in message and "sudoku" in message


def test_unknown_solver_names_the_allowed_solvers_from_the_registry() -> None:
    message = error_of(with_("solver", name="beam_search"))
    allowed = " or ".join([", ".join(f"'{n}'" for n in solver_names()[:-1]),
                           f"'{solver_names()[-1]}'"])
    assert message == f"invalid config: solver.name: Input should be {allowed}", message
    assert "'dfs'" in message and "'llm_mcts'" in message


def test_the_solver_section_keeps_its_shape_and_each_solvers_settings() -> None:
    """`solver: {name, node_budget, mcts, llm_mcts}`, resolved in that order with every
    default written out: stored configs and build keys do not change."""
    resolved = parse_config(with_("solver", name="mcts", mcts={"variant": "puct"})).resolved()
    assert list(resolved["solver"]) == ["name", "node_budget", "mcts", "llm_mcts"]
    assert resolved["solver"]["mcts"] == {"simulations": 200, "exploration": 1.4,
                                          "variant": "puct", "value": "rollout",
                                          "rollout_depth": 50}
    assert resolved["solver"]["llm_mcts"] == {
        "simulations": 32, "exploration": 1.0, "value": "rules", "expansions_per_wave": 1,
        "resamples": 2, "problems_per_batch": 64, "rollout_max_tokens": 256}
    config = parse_config(with_("solver", name="mcts"))
    assert config.solver.settings() == config.solver.mcts
    assert parse_config(MINIMAL).solver.settings() is None  # dfs has no settings


@pytest.mark.parametrize(
    ("task", "knobs", "says"),
    [
        ("countdown", {"count": 9}, "task.knobs.count: must be between 3 and 8, got 9"),
        ("countdown", {"counts": 4}, "task.knobs.counts"),
        ("countdown", {"number_range": [5, 3]}, "task.knobs.number_range"),
        ("countdown", {"test_targets": [5]}, "test_targets must lie in target_range"),
        ("sudoku", {"size": 5}, "task.knobs.size: must be one of 4, 6, 9, got 5"),
        ("sudoku", {"size": 9, "givens": 10}, "task.knobs.givens"),
    ],
)
def test_bad_knobs_fail_at_parse_time(task: str, knobs: dict, says: str) -> None:
    message = error_of({"task": {"name": task, "knobs": knobs}})
    assert message.startswith("invalid config"), message
    assert says in message, message


def test_several_errors_are_reported_together_on_one_line() -> None:
    message = error_of({**MINIMAL, "seed": -1, "splits": {"train": 0}})
    assert "seed" in message and "splits" in message and "; " in message


@pytest.mark.parametrize("raw", [None, [], ["task"], "task: countdown", 3])
def test_top_level_must_be_a_mapping(raw: Any) -> None:
    assert "top level must be a mapping" in error_of(raw)


def test_non_string_top_level_keys_are_user_errors() -> None:
    assert error_of({**MINIMAL, 1: "x"}).startswith("invalid config")


# ---- files -----------------------------------------------------------------------------


def test_load_config_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "build.yaml"
    path.write_text("task:\n  name: sudoku\n  preset: easy\ntraces:\n  k_mix: {0: 0.5, 2: 0.5}\n"
                    "splits:\n  train: 12\nseed: 5\n")
    config = load_config(path)
    assert config.task.name == "sudoku" and config.splits == {"train": 12}
    assert config.traces.k_mix == {0: 0.5, 2: 0.5} and config.seed == 5
    assert load_config(str(path)) == config


def test_load_config_missing_file_is_a_user_error(tmp_path: Path) -> None:
    for missing in (tmp_path / "nope.yaml", tmp_path):
        with pytest.raises(UserError, match="config file not found") as error:
            load_config(missing)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "task: [unclosed\n",
        "task:\n  name: countdown\n bad_indent: 1\n",
        "task: {name: countdown\nseed: 1\n",
        "a: *nowhere\n",
        "\tname: x\n",
    ],
)
def test_load_config_invalid_yaml_is_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match="is not valid YAML") as error:
        load_config(path)
    assert "\n" not in str(error.value)
    assert str(path) in str(error.value)


def test_load_config_invalid_content_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("task:\n  name: countdown\n  knobs:\n    count: 9\nsplits:\n  dev: 3\n")
    with pytest.raises(UserError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    assert "splits" in message
    path.write_text("")
    with pytest.raises(UserError, match="top level must be a mapping"):
        load_config(path)


def test_load_config_binary_file_is_a_user_error(tmp_path: Path) -> None:
    """A file that is not text (say a Parquet shard passed by mistake) is a user error."""
    path = tmp_path / "shard.yaml"
    path.write_bytes(b"PAR1\xff\xfe\x00\x15\x04")
    with pytest.raises(UserError) as error:
        load_config(path)
    assert "\n" not in str(error.value)


def test_example_configs_exist() -> None:
    assert {p.name for p in CONFIGS} >= {"countdown.yaml", "quickstart.yaml", "sudoku.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_configs_validate(path: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    overrides = None
    if raw.get("policy", {}).get("backend") == "local":
        # the shipped checkpoint path is made by `train sft`; any model folder stands in
        with pytest.raises(UserError, match=r"policy\.checkpoint: .* \(no config\.json\)"):
            load_config(path)
        (tmp_path / "config.json").write_text("{}")
        overrides = {"policy": {"checkpoint": str(tmp_path)}}
    config = load_config(path, overrides)
    assert config.task.name == raw["task"]["name"]
    assert config.splits == raw["splits"]
    knobs = config.task_config()
    for key, value in raw["task"].get("knobs", {}).items():
        got = getattr(knobs, key)
        assert (list(got) if isinstance(got, tuple) else got) == value
    # the resolved config written beside a dataset reads back as the same build
    again = parse_config(config.resolved())
    assert again.task_config() == knobs
    assert (again.traces, again.splits, again.seed, again.solver, again.output) == (
        config.traces, config.splits, config.seed, config.solver, config.output)


def test_the_shipped_suite_names_valid_configs_and_distinct_outputs() -> None:
    from searchtrace.flows.suite import load_suite

    suite, builds = load_suite(CONFIG_DIR / "suite.yaml")
    assert len(builds) == len(suite.builds) == 5
    sweep = {tuple(load_config(b.config, b.overrides).traces.k_mix)
             for name, b in builds.items() if name.startswith("countdown")}
    assert sweep == {(0,), (1,), (3,), (5,)}


# ---- strict values: the whole config is checked before any work ---------------------------


def test_an_empty_split_mapping_is_an_error() -> None:
    """`splits: {}` would publish an empty dataset."""
    assert "splits: must name at least one split among train, test" in error_of(
        {**MINIMAL, "splits": {}})


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({**MINIMAL, "seed": True}, "seed: Input should be a valid integer, got true"),
        ({**MINIMAL, "solver": {"node_budget": True}}, "solver.node_budget: Input should be a "
                                                       "valid integer, got true"),
        ({**MINIMAL, "seed": 1.5}, "seed: Input should be a valid integer, got 1.5"),
        ({**MINIMAL, "name": 7}, "name: Input should be a valid string, got 7"),
        ({"task": {"name": "countdown", "knobs": {"count": True}}},
         "task.knobs.count: Input should be a valid integer, got true"),
        ({"task": {"name": "countdown", "knobs": {"allow_fractions": 1}}},
         "task.knobs.allow_fractions: Input should be a valid boolean, got 1"),
        (with_("traces", k_mix={0: True}), "traces.k_mix"),
    ],
)
def test_a_boolean_is_not_a_number_nor_a_number_text(raw: dict, says: str) -> None:
    """Lax validation read `true` as 1 and 7 as "7"; a config says what it means."""
    assert says in error_of(raw)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("task: {name: !!binary Y291bnRkb3du}\n",
         "task.name: YAML value of type bytes"),
        ("task: {name: countdown}\nname: !!binary eA==\n", "name: YAML value of type bytes"),
        ("task: {name: countdown}\nseed: 2024-01-01\n", "seed: YAML value of type date"),
        ("task: {name: countdown}\ndifficulty_mix:\n  buckets:\n    all: {range: [.nan, 10], "
         "share: 1}\n", "difficulty_mix.buckets.all.range.0: must be a finite number, got nan"),
        ("task: {name: countdown}\ndifficulty_mix:\n  buckets:\n    all: {range: [0, .inf], "
         "share: 1}\n", "difficulty_mix.buckets.all.range.1: must be a finite number, got inf"),
        ("task: {name: countdown}\ntraces: {k_mix: {0: .nan, 1: 1}}\n",
         "traces.k_mix.0: must be a finite number, got nan"),
        ("task: {name: countdown}\nsolver: {mcts: {exploration: -.inf}}\n",
         "solver.mcts.exploration: must be a finite number, got -inf"),
        ("task: {name: countdown, knobs: {number_range: [1, .inf]}}\n",
         "task.knobs.number_range.1: must be a finite number, got inf"),
    ],
)
def test_binary_dates_and_non_finite_numbers_are_refused(tmp_path: Path, text: str,
                                                         says: str) -> None:
    """`!!binary` was read as text; a NaN difficulty range ran the whole build and then
    failed with a four-line error."""
    path = tmp_path / "build.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith("invalid config: ")
    assert says in message


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    """5,000 `[` gave a 1,004-line RecursionError traceback."""
    path = tmp_path / "deep.yaml"
    path.write_text("task: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(UserError, match=r"is not valid YAML: collections nested more than 32 "
                                        r"deep \(line 1\)$"):
        load_config(path)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    assert "nested more than 32 deep" in error_of({**MINIMAL, "task": {"name": "countdown",
                                                                      "knobs": deep}})


def test_aliases_that_multiply_values_are_refused(tmp_path: Path) -> None:
    """Aliases repeating lists grow a small file into millions of values."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="more than 100000 values"):
        load_config(path)



# ---- traces.length_match ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("k_mix", "length_match", "says"),
    [
        ({0: 0.5, 3: 0.5}, 2, "length_match must be a k > 0 of the k-mix (0, 3), got 2"),
        ({0: 0.5, 3: 0.5}, 0, "length_match must be a k > 0 of the k-mix (0, 3), got 0"),
        ({1: 0.5, 3: 0.5}, 3, "the k-mix (1, 3) has no 0"),
        ("natural", 3, 'k_mix "natural" has none'),
        ({0: 0.5, 3: 0.5}, "x", "traces.length_match"),
    ],
)
def test_length_match_must_be_a_k_of_a_mix_with_zero(k_mix: Any, length_match: Any,
                                                     says: str) -> None:
    message = error_of(with_("traces", k_mix=k_mix, length_match=length_match))
    assert message.startswith("invalid config: traces"), message
    assert says in message, message


def test_length_match_is_absent_from_the_resolved_config_unless_set() -> None:
    assert "length_match" not in parse_config(MINIMAL).resolved()["traces"]
    config = parse_config(with_("traces", k_mix={0: 0.5, 5: 0.5}, length_match=5))
    assert config.traces.length_match == 5
    assert config.resolved()["traces"]["length_match"] == 5


# ---- traces.drops ----------------------------------------------------------------------


def test_drops_are_validated_like_the_k_mix_and_need_the_tokens_style() -> None:
    good = parse_config(with_("traces", style="tokens", drops={"all": 0.5, "none": 0.5}))
    assert good.traces.drops == {"none": 0.5, "all": 0.5}  # in the levels' order
    assert "drops" not in parse_config(MINIMAL).resolved()["traces"]  # absent: as before
    assert "shares must sum to 1, got 0.9" in error_of(
        with_("traces", style="tokens", drops={"none": 0.5, "close": 0.4}))
    assert "shares must be in (0, 1]" in error_of(
        with_("traces", style="tokens", drops={"none": 1.5, "close": -0.5}))
    assert "drop levels must be among none, close, costs, create, all, got ['half']" in \
        error_of(with_("traces", style="tokens", drops={"half": 1.0}))
    assert "allowed only with style tokens, got style natural" in error_of(
        with_("traces", style="natural", drops={"none": 1.0}))


def test_corrupt_is_absent_by_default_and_left_out_of_the_resolved_config() -> None:
    config = parse_config(MINIMAL)
    assert config.traces.corrupt is None
    assert "corrupt" not in config.resolved()["traces"]


def test_corrupt_is_recorded_when_set() -> None:
    raw = with_("traces", corrupt={"share": 0.25, "kinds": ["wrong_arithmetic"]})
    assert parse_config(raw).resolved()["traces"]["corrupt"] == {
        "share": 0.25, "kinds": ["wrong_arithmetic"]}


@pytest.mark.parametrize(("corrupt", "says"), [
    ({"share": 0, "kinds": ["wrong_state"]}, "traces.corrupt.share"),
    ({"share": 1.5, "kinds": ["wrong_state"]}, "traces.corrupt.share"),
    ({"share": 0.5, "kinds": []}, "traces.corrupt.kinds"),
    ({"share": 0.5, "kinds": ["off_by_one"]}, "allowed: wrong_arithmetic, wrong_state, "
                                               "false_dead_end"),
    ({"share": 0.5, "kinds": ["wrong_state", "wrong_state"]}, "must not repeat"),
])
def test_bad_corrupt_sections_are_one_line_errors(corrupt: dict, says: str) -> None:
    assert says in error_of(with_("traces", corrupt=corrupt))


def test_a_kind_the_task_cannot_make_is_refused_by_name() -> None:
    raw = {"task": {"name": "sudoku"},
           "traces": {"corrupt": {"share": 0.5, "kinds": ["wrong_arithmetic"]}}}
    message = error_of(raw)
    assert "traces.corrupt.kinds: task sudoku cannot make 'wrong_arithmetic'" in message
    assert "allowed: wrong_state" in message


def test_the_controls_are_one_per_build() -> None:
    message = error_of(with_("traces", style="tokens", k_mix={0: 0.5, 3: 0.5}, length_match=3,
                             drops={"none": 1.0}))
    assert "length_match and drops cannot be combined in one build" in message, message
