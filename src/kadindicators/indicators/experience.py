"""Experience indicators (KAD-E*): implementations follow with their specs."""

from __future__ import annotations
