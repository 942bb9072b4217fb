"""The messy-input corpus: see :mod:`generate` (files are generated at test time, not committed)."""
