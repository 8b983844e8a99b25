"""The style registry: every module of this package but `base` is a style, found by walking
the package (no hand-kept list); each exports `STYLE`, its `Style`. Adding a style is one
module here plus, per task, its phrasing."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from searchtrace.errors import UserError
from searchtrace.traces.styles.base import Style

DEFAULT_STYLE = "natural"  # a config that names no style gets this one
_NOT_STYLES = {"base"}


@cache
def style_names() -> tuple[str, ...]:
    """Every registered style's name: the default first, then the others by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__)
                   if info.name not in _NOT_STYLES)
    return tuple(sorted(names, key=lambda name: name != DEFAULT_STYLE))


@cache
def get_style(name: str) -> Style:
    """The registered style `name`, its module imported on first use only."""
    if name not in style_names():
        raise UserError(f"traces.style: unknown style {name!r}; "
                        f"allowed: {', '.join(style_names())}")
    style = importlib.import_module(f"{__name__}.{name}").STYLE
    if style.name != name:
        raise RuntimeError(f"traces/styles/{name}.py registers a style named {style.name!r}")
    return style
