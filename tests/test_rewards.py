"""`searchtrace.rewards` called as veRL and OpenRLHF call it, on a hand-written Countdown
completion and its corruptions: each reward against an independent reading (the answer
evaluated here with exact fractions, the format by its tags, the legal steps counted by
hand), the framework wrappers against each other, and what a misconfigured trainer gets:
a one-line ValueError, not a zero reward."""

from __future__ import annotations

import ast
import json
import operator
from fractions import Fraction

import pytest
import torch

from searchtrace.rewards import (
    Reference,
    answer_score,
    compute_score,
    format_score,
    response_text,
    reward_func,
    step_validity_score,
)

PROBLEM = {"allow_fractions": False, "numbers": [3, 1, 8], "target": 23}
STEPS = ["Let me try 8*3=24. That leaves 1, 24.",
         "Then try 24-1=23. That leaves 23.",
         "23 is the target, so the puzzle is solved."]


def completion(steps: list[str], answer: str) -> str:
    return "<think>\n" + "\n".join(steps) + "\n</think>\n<answer>" + answer + "</answer>"


CORRECT = completion(STEPS, "8*3-1")
WRONG_ANSWER = completion(STEPS, "8*3+1")
ILLEGAL_STEP = completion([STEPS[0], "Then try 24-2=22. That leaves 22.", STEPS[2]], "8*3-1")
MALFORMED = "<think>\n" + STEPS[0] + "\n<answer>8*3-1</answer>"  # no </think>
REFERENCE = Reference("countdown", json.dumps(PROBLEM), "natural")
EXTRA_INFO = {"split": "test", "index": 0, "id": "x", "task": "countdown",
              "problem": json.dumps(PROBLEM), "style": "natural", "num_backtracks": 0}
OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
       ast.Div: operator.truediv}


def solves(expression: str) -> bool:
    """Independently of the task: the expression uses exactly the problem's numbers and
    reaches the target with positive whole intermediate results."""
    used: list[int] = []

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant):
            used.append(node.value)
            return Fraction(node.value)
        assert isinstance(node, ast.BinOp)
        result = OPS[type(node.op)](value(node.left), value(node.right))
        assert result > 0 and result.denominator == 1
        return result

    total = value(ast.parse(expression, mode="eval").body)
    return total == PROBLEM["target"] and sorted(used) == sorted(PROBLEM["numbers"])


def well_formed(text: str) -> bool:
    body = text.strip()
    return (body.startswith("<think>") and body.endswith("</answer>")
            and body.count("</think>") == 1 and "</think>\n<answer>" in body)


def expected(text: str, answer: str, legal_steps: int, steps: int) -> dict[str, float]:
    formed = well_formed(text)
    return {"answer": float(solves(answer)), "format": float(formed),
            "step_validity": legal_steps / steps if formed else 0.0}


CASES = {
    "correct": (CORRECT, expected(CORRECT, "8*3-1", 3, 3)),
    "wrong_answer": (WRONG_ANSWER, expected(WRONG_ANSWER, "8*3+1", 3, 3)),
    "illegal_step": (ILLEGAL_STEP, expected(ILLEGAL_STEP, "8*3-1", 1, 3)),
    "malformed": (MALFORMED, expected(MALFORMED, "8*3-1", 0, 1)),
}


def test_the_independent_readings_tell_the_cases_apart() -> None:
    assert CASES["correct"][1] == {"answer": 1.0, "format": 1.0, "step_validity": 1.0}
    assert CASES["wrong_answer"][1]["answer"] == 0.0
    assert CASES["illegal_step"][1]["step_validity"] == pytest.approx(1 / 3)
    assert CASES["malformed"][1]["format"] == 0.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_verl_scores_agree_with_the_independent_reading(case: str) -> None:
    text, want = CASES[case]
    kwargs = {"data_source": "searchtrace/countdown", "solution_str": text,
              "ground_truth": "8*3-1", "extra_info": EXTRA_INFO}  # as veRL's reward manager
    assert answer_score(**kwargs) == want["answer"]
    assert format_score(**kwargs) == want["format"]
    assert step_validity_score(**kwargs) == pytest.approx(want["step_validity"])
    assert compute_score(**kwargs) == pytest.approx(sum(want.values()))


def test_openrlhf_reward_func_agrees_with_the_independent_reading() -> None:
    prompt = "<|im_start|>user\nUse the numbers 3, 1, 8 to make 23.<|im_end|>\n" \
             "<|im_start|>assistant\n"
    names = sorted(CASES)
    queries = [prompt + CASES[name][0] + "<|im_end|>" for name in names]
    result = reward_func(queries, [prompt] * len(names), [REFERENCE.label()] * len(names))
    assert set(result) == {"rewards", "scores", "extra_logs"}
    for key in ("rewards", "scores"):
        assert isinstance(result[key], torch.Tensor) and result[key].dtype == torch.float32
    for i, name in enumerate(names):
        want = CASES[name][1]
        assert result["rewards"][i].item() == pytest.approx(sum(want.values()))
        assert result["scores"][i].item() == want["answer"]
        for reward, value in want.items():
            assert result["extra_logs"][reward][i].item() == pytest.approx(value)


def test_conversational_and_non_text_completions() -> None:
    chat = [{"role": "user", "content": "p"}, {"role": "assistant", "content": CORRECT}]
    assert REFERENCE.judge(chat) == {"answer": 1.0, "format": 1.0, "step_validity": 1.0}
    assert REFERENCE.judge(None) == {"answer": 0.0, "format": 0.0, "step_validity": 0.0}


@pytest.mark.parametrize(("query", "response"), [
    ("PROMPT" + CORRECT, CORRECT),
    ("PROMPT" + CORRECT + "<|im_end|>", CORRECT),
    ("<s>PROMPT" + CORRECT + "</s>", CORRECT),
    ("PROMPT" + CORRECT + "<|eot_id|><|end_of_text|>\n<pad><pad>", CORRECT),
    ("PROMPT" + CORRECT + " trailing words", CORRECT + " trailing words"),
    ("PROMPT" + CORRECT + "<| not a token |>", CORRECT + "<| not a token |>"),
    ("another prompt " + CORRECT, "another prompt " + CORRECT),
])
def test_the_response_is_what_follows_the_prompt_without_end_tokens(query: str,
                                                                     response: str) -> None:
    assert response_text(query, "PROMPT") == response


def test_text_after_the_answer_is_not_cut_away() -> None:
    result = reward_func(["P" + CORRECT + " and more"], ["P"], [REFERENCE.label()])
    assert result["extra_logs"]["format"].tolist() == [0.0]


@pytest.mark.parametrize("extra_info", [None, {}, {"task": "countdown", "style": "natural"}])
def test_verl_without_the_exported_extra_info_is_a_clear_error(extra_info) -> None:
    with pytest.raises(ValueError, match="extra_info"):
        compute_score("searchtrace/countdown", CORRECT, "8*3-1", extra_info)


@pytest.mark.parametrize("label", ["", "8*3-1", json.dumps({"task": "countdown"})])
def test_openrlhf_without_the_exported_label_is_a_clear_error(label: str) -> None:
    with pytest.raises(ValueError, match="label"):
        reward_func(["P" + CORRECT], ["P"], [label])


def test_a_label_round_trips() -> None:
    assert Reference.from_label(REFERENCE.label()) == REFERENCE
    assert Reference.from_extra_info(EXTRA_INFO) == REFERENCE
