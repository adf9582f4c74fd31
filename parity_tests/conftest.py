"""Shared test settings.

Hypothesis runs 100 examples per property in CI; set CROSSFRAME_THOROUGH=1 for 1000, or
CROSSFRAME_THOROUGH=N (N > 1) for N.
Results are cached per (model, dtype) so each framework runs a model once per session.
``chromium``: the browser for the report's browser and print tests.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
_thorough = os.environ.get("CROSSFRAME_THOROUGH", "")
settings.register_profile("thorough", deadline=None,
                          max_examples=int(_thorough) if _thorough.isdigit() and
                          int(_thorough) > 1 else 1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if _thorough else "ci")


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="module")
def chromium():
    """The Chromium binary for the browser and print tests: skipped without one, but under
    CI=true a missing browser fails (.ci/run installs Debian's ``chromium``)."""
    from crossframe.reports import browser

    path = browser.find_chromium()
    if path is None:
        reason = "no Chromium on this machine (apt-get install -y chromium; .ci/run does)"
        if under_ci():
            pytest.fail(f"{reason}; CI=true requires the browser tests to run")
        pytest.skip(reason)
    return path
