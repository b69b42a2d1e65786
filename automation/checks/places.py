"""Where checks keep things (the checks file, the data folder, the evidence root) and the host built from them.

Every process that runs or shows checks starts here: the one-shot commands, `checks serve`, `checks web`, and the
fleet's worker and beat (which read the same places from the environment the CLI set up).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automation.checks.config.load import ChecksConfig, load_checks

if TYPE_CHECKING:
    from automation.checks.watchdog.run_check import Host


@dataclass(frozen=True)
class Places:
    """Where checks keep things: the checks file, the history/ticket data folder, the evidence root."""

    checks_file: Path | None = None
    data_dir: Path | None = None
    evidence_root: Path | None = None

    def host(self, **kwargs: Any) -> Host:
        from automation.checks.storage.history import History
        from automation.checks.watchdog.run_check import Host
        from automation.paths import data_dir as default_data_dir
        from automation.paths import evidence_root as default_evidence_root
        from automation.paths import fleet_evidence_root

        data = self.data_dir or default_data_dir()
        # RUNBOOK_EVIDENCE_ROOT (the fleet's shared mount) before RUNBOOK_TRACES: `checks web` then links to
        # the folders the workers wrote.
        root = self.evidence_root or fleet_evidence_root() or default_evidence_root()
        return Host(
            history=History(data_dir=data),
            evidence_root=root / "checks",
            data_dir=data,
            **kwargs,
        )


def load(places: Places) -> ChecksConfig:
    """The checks file. Raises ChecksFileError (exit 2)."""
    return load_checks(places.checks_file)
