"""The Sokoban room: grids it cannot read are refused, each with what is wrong."""

from __future__ import annotations

import re

import pytest

from searchtrace.tasks.sokoban.room import make_room


@pytest.mark.parametrize(
    ("grid", "words"),
    [
        (["#####", "#@$x#", "#####"], "unknown character 'x' at (2,4)"),
        (["#####", "#@$.#", "#@--#", "#####"], "exactly one player, found 2"),
        (["#####", "#@$-#", "#####"], "found 0 goals and 1 boxes"),
        (["#####", "#@--#", "#####"], "found 0 goals and 0 boxes"),
        ([], "1 to 30 rows"),
    ],
)
def test_bad_grids_are_refused(grid: list[str], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        make_room(tuple(grid), 5)
