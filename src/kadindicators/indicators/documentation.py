"""Documentation indicators (KAD-D*): implementations follow with their specs."""

from __future__ import annotations
