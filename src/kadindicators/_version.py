"""The library version (static, read by hatchling; CI clones may have no tags)."""

__version__ = "0.2.0"
