"""Safe YAML loading for spec files and any YAML a user hands us.

Spec files are data: they are parsed with PyYAML's ``SafeLoader`` (no Python
objects are ever constructed), aliases are refused (no "billion laughs"),
and size and nesting depth are bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 50


class _LimitedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader that refuses aliases and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in kadindicators YAML",
                event.start_mark,
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.constructor.ConstructorError(
                None, None, f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def loads(text: str, *, source: str = "<string>") -> Any:
    """Parse YAML text safely; raise :class:`SpecError` with the location on failure."""
    if len(text) > MAX_BYTES:
        raise SpecError(
            f"{source}: YAML file larger than {MAX_BYTES} bytes",
            f"{source}: YAML-filen er større enn {MAX_BYTES} byte",
        )
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{where}: invalid YAML: {problem}",
                        f"{where}: ugyldig YAML: {problem}") from None
    finally:
        loader.dispose()


def load(path: Path) -> Any:
    """Read and parse a YAML file safely."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})",
                        f"{path}: kan ikke leses ({exc.strerror})") from None
    if size > MAX_BYTES:
        raise SpecError(f"{path}: YAML file larger than {MAX_BYTES} bytes",
                        f"{path}: YAML-filen er større enn {MAX_BYTES} byte")
    return loads(path.read_text(encoding="utf-8"), source=str(path))


def load_with_lines(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse a YAML file safely and return the data and the line of every key path.

    The path of a value is the tuple of mapping keys and list indexes (as
    strings) leading to it; lines are 1-based. Used to locate lint messages.
    """
    text = path.read_text(encoding="utf-8")
    data = loads(text, source=str(path))
    lines: dict[tuple[str, ...], int] = {}
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:  # pragma: no cover - loads() above already raised
        return data, lines
    finally:
        loader.dispose()

    def walk(n: Any, prefix: tuple[str, ...]) -> None:
        lines[prefix] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = prefix + (str(k.value),)
                lines[key] = k.start_mark.line + 1
                walk(v, key)
                lines[key] = k.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, prefix + (str(i),))

    if node is not None:
        walk(node, ())
    return data, lines
