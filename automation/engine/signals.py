"""Ctrl-C and SIGTERM during a run: the first one stops the run; the evidence is then saved shielded.

A signal while the run executes raises `Interrupted` (a KeyboardInterrupt) in the main thread, so the steps,
the `finally:` steps and the prompt all stop as they do for Ctrl-C. While the evidence is saved (trace
scrubbed, run.json, report, audit line) a signal is only noted: a half-saved run would leave an unscrubbed
trace and no record. Signal handlers belong to the main thread; a run in another thread installs none.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from automation.errors import ExitCode, Interrupted

HANDLED: dict[int, tuple[str, ExitCode]] = {
    signal.SIGINT: ("Ctrl-C", ExitCode.INTERRUPTED),
    signal.SIGTERM: ("SIGTERM", ExitCode.TERMINATED),
}


@dataclass
class SignalGuard:
    """Raises Interrupted for SIGINT/SIGTERM until `shield()`; then notes them in `noted`."""

    shielded: bool = False
    noted: list[Interrupted] = field(default_factory=list)
    _previous: dict[int, Any] = field(default_factory=dict)

    def _handle(self, signum: int, frame: Any) -> None:
        name, code = HANDLED[signum]
        if self.shielded:
            self.noted.append(Interrupted(signum, name, code))
            return
        raise Interrupted(signum, name, code)

    def install(self) -> SignalGuard:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in HANDLED:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN:  # started with the signal ignored (nohup, `&`): keep it so
                continue
            self._previous[signum] = previous
            signal.signal(signum, self._handle)
        return self

    def shield(self) -> None:
        """From now on a signal is noted, not raised: the evidence is being saved."""
        self.shielded = True

    def restore(self) -> None:
        """Put the previous handlers back, every one of them, even if a Ctrl-C lands between two (the first
        restored already raises it); that Ctrl-C is raised once all are back, as the run is over."""
        arrived: KeyboardInterrupt | None = None
        for signum, previous in self._previous.items():
            while True:
                try:
                    signal.signal(signum, previous)
                    break
                except KeyboardInterrupt as exc:
                    arrived = arrived or exc
        self._previous.clear()
        if arrived is not None:
            raise arrived


@contextmanager
def guarded() -> Iterator[SignalGuard]:
    """Install the guard for one run; restore the previous handlers after it, whatever happens."""
    guard = SignalGuard().install()
    try:
        yield guard
    finally:
        guard.restore()


def describe(exc: KeyboardInterrupt) -> tuple[str, ExitCode]:
    """The signal's name and exit code (a bare KeyboardInterrupt is Ctrl-C)."""
    if isinstance(exc, Interrupted):
        return exc.name, exc.exit_code
    return "Ctrl-C", ExitCode.INTERRUPTED
