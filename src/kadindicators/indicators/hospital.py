"""Hospital indicators (KAD-H*): implementations follow with their specs."""

from __future__ import annotations
