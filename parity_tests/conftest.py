"""Shared test settings.

Hypothesis runs 100 examples per property in CI; set CROSSFRAME_THOROUGH=1 for 1000, or
CROSSFRAME_THOROUGH=N (N > 1) for N.
Results are cached per (model, dtype) so each framework runs a model once per session.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
_thorough = os.environ.get("CROSSFRAME_THOROUGH", "")
settings.register_profile("thorough", deadline=None,
                          max_examples=int(_thorough) if _thorough.isdigit() and
                          int(_thorough) > 1 else 1000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if _thorough else "ci")
