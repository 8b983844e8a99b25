"""The style registry: every style module is found without a list, and an unknown style
is refused naming the allowed ones, in the registry and in the config."""

from __future__ import annotations

import pkgutil

import pytest

import searchtrace.traces.styles as styles
from searchtrace.config import parse_config
from searchtrace.errors import UserError
from searchtrace.traces.styles import DEFAULT_STYLE, get_style, style_names
from searchtrace.traces.styles.base import TemplateStyle


def test_the_registry_finds_every_style_module() -> None:
    modules = {info.name for info in pkgutil.iter_modules(styles.__path__)} - {"base"}
    assert set(style_names()) == modules == {"natural", "compact", "reflective", "tokens"}
    assert style_names()[0] == DEFAULT_STYLE == "natural"
    for name in style_names():
        style = get_style(name)
        assert style.name == name and isinstance(style, TemplateStyle)
        assert get_style(name) is style  # one object per style


def test_an_unknown_style_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(UserError) as error:
        get_style("verbose")
    assert str(error.value) == ("traces.style: unknown style 'verbose'; "
                                "allowed: natural, compact, reflective, tokens")


@pytest.mark.parametrize("style", ["verbose", "Natural", ""])
def test_the_config_refuses_an_unknown_style_with_the_allowed_list(style: str) -> None:
    with pytest.raises(UserError) as error:
        parse_config({"task": {"name": "countdown"}, "traces": {"style": style}})
    assert str(error.value) == (f"invalid config: traces.style: unknown style {style!r}; "
                                f"allowed: {', '.join(style_names())}")


def test_the_config_takes_every_registered_style_and_defaults_to_natural() -> None:
    for name in style_names():
        config = parse_config({"task": {"name": "countdown"}, "traces": {"style": name}})
        assert config.traces.style == name
    assert parse_config({"task": {"name": "countdown"}}).traces.style == DEFAULT_STYLE
