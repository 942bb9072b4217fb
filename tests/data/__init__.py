"""Test data (synthetic only)."""
