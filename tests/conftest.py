"""Shared fixtures and the hypothesis profiles (CI is derandomised and bounded)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2_000, deadline=None)
settings.load_profile(os.environ.get("KAD_HYPOTHESIS_PROFILE", "ci"))

# the parsed-spec cache of the test run lives in a temporary folder, never in the user's home
# (set in the environment, so CLI subprocesses use it too)
os.environ.setdefault("KADINDICATORS_CACHE_DIR", str(Path(tempfile.gettempdir()) / "kadindicators-test-cache"))
