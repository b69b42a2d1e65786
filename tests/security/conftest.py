"""Hypothesis profiles for the property-based and fuzz tests: a bounded run in `make test`, a long one with
RUNBOOK_FUZZ=long (`make fuzz`). Profiles are registered, not loaded: each test picks its own with
`settings.get_profile(...)`, so other hypothesis tests keep their settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

LONG = os.environ.get("RUNBOOK_FUZZ") == "long"

# deadline=None: the machine is shared and loaded; boundedness comes from the loader's limits, not a clock.
settings.register_profile(
    "runbook-fuzz",
    max_examples=2000 if LONG else 60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
