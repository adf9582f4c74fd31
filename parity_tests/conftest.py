"""Shared test settings.

Hypothesis runs 100 examples per property in CI; set CROSSFRAME_THOROUGH=1 for 1000.
Results are cached per (model, dtype) so each framework runs a model once per session.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if os.environ.get("CROSSFRAME_THOROUGH") else "ci")
