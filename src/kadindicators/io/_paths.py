"""Output file names built from data (unit ids, municipality names) that stay in their folder."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from ..errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9æøåÆØÅ._-]+")
# names Windows reserves in every folder, with any extension
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
MAX_NAME = 100


def safe_filename(name: str, *, suffix: str = "") -> str:
    """A file name made from a value in the data (e.g. a unit id) that cannot leave its folder.

    Letters (with æ, ø, å), digits, ``.``, ``-`` and ``_`` are kept; anything
    else (``/``, ``\\``, ``:``, control characters, spaces) becomes ``_``.
    Dots and underscores at the ends and a leading ``-`` are removed (no ``..``,
    no hidden files, no name that reads as an option), Windows device
    names (``CON``, ``NUL``, ``COM1`` …) are prefixed with ``_``, and the name
    is at most 100 characters. When anything had to change, a short hash of
    the original is added, so two different values never share a file.

    Parameters
    ----------
    name : str
        The value, e.g. a unit id.
    suffix : str, optional
        An extension to add, e.g. ``".html"`` (kept as given).

    Examples
    --------
    >>> safe_filename("VV-ASKER-LV", suffix=".html")
    'VV-ASKER-LV.html'
    >>> safe_filename("../../etc/passwd")
    'etc_passwd-...'
    >>> safe_filename("U/1") != safe_filename("U_1")
    True

    .. versionadded:: 0.2.0
    """
    original = str(name)
    text = unicodedata.normalize("NFC", original)
    clean = _UNSAFE.sub("_", text).strip("._ ").lstrip("-")  # a leading - reads as an option to tools
    if _RESERVED.match(clean):
        clean = "_" + clean
    clean = clean[:MAX_NAME]
    if clean != original or not clean:
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        clean = f"{clean[:MAX_NAME - 9]}-{digest}" if clean else digest
    return clean + suffix


def output_path(folder: str | os.PathLike[str], name: str, *, suffix: str = "") -> Path:
    """The path of an output file named after a value in the data, checked to stay in ``folder``.

    The name is made safe with :func:`safe_filename`; the result is refused
    (:class:`~kadindicators.InputError`) if, after resolving symbolic links,
    it is not inside ``folder``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> output_path(d, "../secret", suffix=".html").parent == Path(d)
    True

    .. versionadded:: 0.2.0
    """
    base = Path(folder)
    path = base / safe_filename(name, suffix=suffix)
    root = base.resolve()
    if not path.resolve().is_relative_to(root):
        raise InputError(f"the output {path} would be written outside {root}",
                         f"utdata {path} ville blitt skrevet utenfor {root}", source=str(base))
    return path
