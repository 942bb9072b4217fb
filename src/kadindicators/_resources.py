"""Where the standard's files (``spec/``) are found at run time."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def spec_root() -> Path:
    """Return the directory holding the standard (``spec/``).

    A wheel carries a copy as ``kadindicators/_spec``; an editable install or a
    source checkout uses the repository's ``spec/`` directly.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_spec"
    if (packaged / "schema" / "schema.yaml").is_file():
        return packaged
    checkout = here.parent.parent / "spec"
    if (checkout / "schema" / "schema.yaml").is_file():
        return checkout
    raise FileNotFoundError(  # pragma: no cover - a broken installation
        "kadindicators: the standard's files (spec/) were not found next to the package"
    )


def data_root() -> Path:
    """Return the directory of bundled data (synthetic regions)."""
    return Path(__file__).resolve().parent / "_data"
