"""The outbox shared by several workers (real PostgreSQL): a notification is delivered by one of them only, and
one left "sending" by a worker killed mid-delivery is tried again after its lease."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from automation.checks.alerting.channels import Notifier
from automation.checks.config.load import Check, load_checks
from automation.checks.model import Notification
from automation.checks.storage.history import SENDING_LEASE, History
from automation.store.tables.history import notifications

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def a_check(tmp_path: Path) -> Check:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "checks:\n  portal-login:\n    runbook: synthetic-login\n    every: 1m\n"
        "    alert:\n      after: 1\n      channels:\n        - webhook: {url_env: OPS_HOOK}\n"
    )
    return load_checks(path).checks["portal-login"]


class Receiver:
    """A webhook receiver that, while it takes the first delivery, lets a second worker flush the outbox:
    two workers flushing at the same moment, made deterministic."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.meanwhile: list[Notifier] = []

    def deliver(self, check: Check, note: Notification) -> str:
        self.got.append(note.kind)
        while self.meanwhile:
            other = self.meanwhile.pop()
            other.flush({check.name: check})
        return "200"


def test_two_workers_flushing_together_deliver_a_notification_once(postgres_url: str, tmp_path: Path) -> None:
    check = a_check(tmp_path)
    receiver = Receiver()
    first, second = History(postgres_url), History(postgres_url)
    note = Notification(kind="opened", check=check.name, at=NOW, message="portal-login is failing")
    first.add_notification(note, check.channels[0].id)
    receiver.meanwhile.append(Notifier(second, lambda config: receiver))
    assert Notifier(first, lambda config: receiver).flush({check.name: check}) == 0
    assert receiver.got == ["opened"]
    assert [n["status"] for n in second.notifications(check.name)] == ["delivered"]
    first.close()
    second.close()


def test_a_notification_left_sending_by_a_killed_worker_is_delivered_after_its_lease(
    postgres_url: str, tmp_path: Path
) -> None:
    check = a_check(tmp_path)
    history = History(postgres_url)
    note = Notification(kind="opened", check=check.name, at=NOW, message="portal-login is failing")
    number = history.add_notification(note, check.channels[0].id)
    assert history.take_notification(number) is True  # ... and the worker that took it is killed
    receiver = Receiver()
    assert Notifier(history, lambda config: receiver).flush({check.name: check}) == 0
    assert receiver.got == []  # still that worker's
    with history.engine.begin() as conn:  # the lease runs out
        stale = datetime.now(UTC) - SENDING_LEASE * 2
        conn.execute(update(notifications).where(notifications.c.id == number).values(updated_at=stale))
    Notifier(history, lambda config: receiver).flush({check.name: check})
    assert receiver.got == ["opened"]
    history.close()
