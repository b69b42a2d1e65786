"""The status page's evidence links go where the workers write: RUNBOOK_EVIDENCE_ROOT, the fleet's shared mount."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.checks.places import Places


def test_the_web_process_finds_evidence_under_the_fleet_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_EVIDENCE_ROOT", str(tmp_path / "shared"))
    monkeypatch.setenv("RUNBOOK_TRACES", str(tmp_path / "local"))
    host = Places(data_dir=tmp_path / "data").host()
    assert host.evidence_root == tmp_path / "shared" / "checks"


def test_without_a_fleet_root_evidence_stays_under_the_traces_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNBOOK_EVIDENCE_ROOT", raising=False)
    monkeypatch.setenv("RUNBOOK_TRACES", str(tmp_path / "local"))
    host = Places(data_dir=tmp_path / "data").host()
    assert host.evidence_root == tmp_path / "local" / "checks"
