"""A cache of parsed spec files, so start-up does not parse the same YAML on every run.

Parsing the standard's YAML (the code lists above all) is the largest part of a
short command's start-up. The parsed data of each file is kept in one JSON file
per spec directory in the user's cache directory, keyed by the SHA-256 of the
file's text, so the spec files stay the single source of truth: a changed file
is parsed again, and the cache is rewritten.

The cache holds plain data only (JSON, never pickle): what PyYAML's safe loader
builds from the file, with dates and timestamps tagged. Data it cannot hold
exactly (sets, binary, non-text mapping keys) is simply not cached. Every
failure to read or write the cache (no home directory, read-only file system,
a damaged or foreign cache file) falls back to parsing; the cache never changes
a result, only the time it takes.

Where: ``$KADINDICATORS_CACHE_DIR`` if set, else the platform's user cache
directory (``$XDG_CACHE_HOME/kadindicators`` or ``~/.cache/kadindicators``,
``~/Library/Caches/kadindicators``, ``%LOCALAPPDATA%\\kadindicators\\Cache``).
``KADINDICATORS_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import _yaml
from ._version import __version__

__all__ = ["ENV_DIR", "ENV_OFF", "DocumentCache", "cache_dir"]

ENV_DIR = "KADINDICATORS_CACHE_DIR"
ENV_OFF = "KADINDICATORS_NO_CACHE"
FORMAT = 1
MAX_CACHE_BYTES = 64 * 1024 * 1024
_NAME_PART = re.compile(r"[a-z0-9][a-z0-9_]*")


def cache_dir() -> Path | None:
    """Return the directory for cache files, or None when caching is off or there is no home.

    Examples
    --------
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"KADINDICATORS_CACHE_DIR": "/tmp/kad-cache"}):
    ...     cache_dir() == Path("/tmp/kad-cache")
    True
    >>> with mock.patch.dict(os.environ, {"KADINDICATORS_NO_CACHE": "1"}):
    ...     cache_dir() is None
    True
    """
    if os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):  # no HOME and no passwd entry
        return None
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / "kadindicators" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "kadindicators"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "kadindicators"


def _safe_name(part: str) -> str:
    """Check a part of a cache file name: lower-case letters, digits and ``_`` only, never a path."""
    if not _NAME_PART.fullmatch(part):
        raise ValueError(f"not a cache file name part: {part!r}")
    return part


class _Uncacheable(Exception):
    """Parsed data JSON cannot hold exactly."""


_SCALARS = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    """Return ``value`` as JSON data; dates and timestamps become ``{"$date": ...}``/``{"$datetime": ...}``."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list:
        return [_encode(v) for v in value]
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str or k.startswith("$"):  # "$" keys are the tags
                raise _Uncacheable
            out[k] = _encode(v)
        return out
    if kind is dt.datetime:
        return {"$datetime": value.isoformat()}
    if kind is dt.date:
        return {"$date": value.isoformat()}
    raise _Uncacheable  # sets, bytes, (key, value) pairs: parse the file each time


def _decode(value: Any) -> Any:
    """Inverse of :func:`_encode`; a fresh object on every call, so callers may change what they get."""
    kind = type(value)
    if kind is list:
        return [_decode(v) for v in value]
    if kind is dict:
        if len(value) == 1:
            if "$date" in value:
                return dt.date.fromisoformat(value["$date"])
            if "$datetime" in value:
                return dt.datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def _header(root: Path, depends: tuple[Path, ...]) -> dict[str, Any] | None:
    import yaml

    deps = {}
    for p in depends:
        try:
            deps[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:  # the loader reports it; nothing to key the cache on
            return None
    return {"format": FORMAT, "kadindicators": __version__, "pyyaml": str(yaml.__version__),
            "libyaml": bool(getattr(yaml, "__with_libyaml__", False)), "root": str(root),
            "depends": deps}


class DocumentCache:
    """Parsed YAML files under ``root``, cached by each file's SHA-256 (see the module docstring).

    Call :meth:`load` for each file (same results and errors as
    :func:`kadindicators._yaml.load`), then :meth:`save` once, after the
    loader's own checks passed: a file served from the cache (see
    :meth:`from_cache`) has passed them before. ``depends`` are further files
    whose change invalidates the whole cache (e.g. a JSON Schema the files are
    checked against).

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.yaml").write_text("when: 2025-01-31\\nn: [1, 2.5]\\n", encoding="utf-8")
    >>> with mock.patch.dict(os.environ, {"KADINDICATORS_CACHE_DIR": str(d / "cache")}):
    ...     first = DocumentCache(d)
    ...     print(first.load(d / "a.yaml"), first.from_cache(d / "a.yaml"))
    ...     first.save()
    ...     second = DocumentCache(d)
    ...     print(second.load(d / "a.yaml"), second.from_cache(d / "a.yaml"))
    {'when': datetime.date(2025, 1, 31), 'n': [1, 2.5]} False
    {'when': datetime.date(2025, 1, 31), 'n': [1, 2.5]} True
    >>> import shutil; shutil.rmtree(d)
    """

    def __init__(self, root: Path, *, name: str = "spec", depends: tuple[Path, ...] = ()) -> None:
        self.root = root
        self.hits = 0
        directory = cache_dir()
        tag = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:16]  # one file per spec directory
        file_name = f"{_safe_name(name)}-{_safe_name(tag)}.json"  # checked even when caching is off
        self._header = _header(root, depends) if directory is not None else None
        self._file = None if directory is None or self._header is None else directory / file_name
        self._old = self._read()
        self._new: dict[str, dict[str, Any]] = {}
        self._hit_keys: set[str] = set()
        self._changed = False

    def _read(self) -> dict[str, Any]:
        if self._file is None:
            return {}
        try:
            if self._file.stat().st_size > MAX_CACHE_BYTES:
                return {}
            doc = json.loads(self._file.read_bytes())
        except (OSError, ValueError, RecursionError):  # none yet, unreadable or damaged: parse
            return {}
        if not isinstance(doc, dict) or doc.get("header") != self._header:
            return {}
        files = doc.get("files")
        return files if isinstance(files, dict) else {}

    def _key(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load(self, path: Path) -> Any:
        """Return the parsed data of the YAML file ``path`` (from the cache when its text is unchanged)."""
        text = _yaml._read_text(path)  # size and UTF-8 checks, errors naming the file
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        key = self._key(path)
        entry = self._old.get(key)
        if isinstance(entry, dict) and entry.get("sha256") == digest and "data" in entry:
            try:
                data = _decode(entry["data"])
            except (TypeError, ValueError, RecursionError):  # a damaged tag: parse the file
                pass
            else:
                self.hits += 1
                self._hit_keys.add(key)
                self._new[key] = entry
                return data
        self._hit_keys.discard(key)
        data = _yaml.loads(text, source=str(path))
        try:
            self._new[key] = {"sha256": digest, "data": _encode(data)}
            self._changed = True
        except _Uncacheable:
            pass
        return data

    def from_cache(self, path: Path) -> bool:
        """True if the last :meth:`load` of ``path`` came from the cache (unchanged since a checked load)."""
        return self._key(path) in self._hit_keys

    def save(self) -> None:
        """Write the cache if a file was parsed or dropped; never raise for a cache that cannot be written."""
        if self._file is None or not (self._changed or set(self._new) != set(self._old)):
            return
        doc = {"header": self._header, "files": {k: self._new[k] for k in sorted(self._new)}}
        try:
            payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):  # pragma: no cover - entries hold JSON data only
            return
        tmp: str | None = None
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._file.parent, prefix=f".{self._file.stem}-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload.encode("utf-8"))
            os.replace(tmp, self._file)  # atomic: a reader sees the old or the new cache, never half
            tmp = None
        except OSError:  # read-only or no home: parsing every time is still correct
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

