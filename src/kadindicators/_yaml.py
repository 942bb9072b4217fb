"""Safe YAML loading for spec files and any YAML a user hands us.

Spec files are data: they are parsed with PyYAML's safe loader (no Python
objects are ever constructed), aliases are refused (no "billion laughs"),
and size and nesting depth are bounded. A first pass over the parser's events
checks aliases, depth and the number of documents before any node is built;
only then is the document composed and constructed. libyaml (PyYAML's C
parser) is used where it is installed, the pure-Python parser elsewhere; both
give the same data.

Every failure is a :class:`~kadindicators.errors.SpecError` naming the file
and line, in Norwegian and English: broken YAML, a file that is not UTF-8,
and values the safe constructor cannot make (``2025-02-31``, an integer of
100,000 digits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 50

_Parser: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Loader(_Parser):  # type: ignore[misc]
    """Safe loader whose value errors (impossible dates, huge integers) carry the node's location."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # SafeConstructor lets these through
            raise yaml.constructor.ConstructorError(None, None, f"invalid value: {exc}",
                                                    node.start_mark) from None


def _fail(source: str, mark: Any, problem: str, *, line: int | None = None) -> SpecError:
    if mark is not None:
        line = mark.line + 1
    where = f"{source}:{line}" if line is not None else source
    return SpecError(f"{where}: invalid YAML: {problem}", f"{where}: ugyldig YAML: {problem}")


def _from_yaml_error(exc: yaml.YAMLError, text: str, source: str) -> SpecError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return _fail(source, None, f"{exc.reason}: {shown}",
                     line=text[:max(exc.position, 0)].count("\n") + 1)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return _fail(source, mark, getattr(exc, "problem", None) or str(exc))


def _check_events(text: str, source: str) -> None:
    """Refuse aliases, nesting deeper than :data:`MAX_DEPTH` and more than one document."""
    parser = _Parser(text)
    depth = 0
    documents = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _fail(source, event.start_mark, f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(event, _CLOSE):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                raise _fail(source, event.start_mark,
                            "aliases (*name) are not allowed in kadindicators YAML")
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail(source, event.start_mark, "more than one document in the file")
    except yaml.YAMLError as exc:
        raise _from_yaml_error(exc, text, source) from None
    finally:
        parser.dispose()


def _size_error(source: str) -> SpecError:
    return SpecError(f"{source}: YAML file larger than {MAX_BYTES} bytes",
                     f"{source}: YAML-filen er større enn {MAX_BYTES} byte")


def loads(text: str, *, source: str = "<string>") -> Any:
    """Parse YAML text safely; raise :class:`SpecError` with the location on failure.

    Examples
    --------
    >>> loads("a: [1, 2]")
    {'a': [1, 2]}
    >>> loads("a: &x 1\\nb: *x", source="spec.yaml")
    Traceback (most recent call last):
    ...
    kadindicators.errors.SpecError: spec.yaml:2: invalid YAML: aliases (*name) are not allowed ...
    """
    if len(text) > MAX_BYTES:
        raise _size_error(source)
    _check_events(text, source)
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _from_yaml_error(exc, text, source) from None
    except RecursionError:  # pragma: no cover - depth is checked above
        raise _fail(source, None, f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _size_error(str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot be read ({exc.strerror})",
                        f"{path}: kan ikke leses ({exc.strerror})") from None
    if len(data) > MAX_BYTES:  # grew since stat, or not a regular file
        raise _size_error(str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SpecError(f"{path}:{line}: not UTF-8 text (byte {exc.start})",
                        f"{path}:{line}: ikke UTF-8-tekst (byte {exc.start})",
                        hint_en="save the file as UTF-8", hint_nb="lagre filen som UTF-8") from None


def load(path: Path) -> Any:
    """Read and parse a YAML file safely."""
    return loads(_read_text(path), source=str(path))


def load_with_lines(path: Path) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse a YAML file safely and return the data and the line of every key path.

    The path of a value is the tuple of mapping keys and list indexes (as
    strings) leading to it; lines are 1-based. Used to locate lint messages.
    """
    text = _read_text(path)
    data = loads(text, source=str(path))
    lines: dict[tuple[str, ...], int] = {}
    loader = _Loader(text)
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
