"""runbook: YAML support runbooks executed in a real browser, with evidence."""

from __future__ import annotations
