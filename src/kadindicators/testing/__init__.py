"""Public test helpers for users of kadindicators and for other implementations.

Requires hypothesis (``pip install 'kadindicators[testing]'``); it is imported
only when this subpackage is.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from . import strategies

__all__ = ["strategies"]
