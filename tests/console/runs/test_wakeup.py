"""The in-process wake-up: a ring wakes the threads and the event streams (asyncio) waiting on that run, and
those waiting on any run ("*"); a waiter that is not rung wakes at its timeout and looks at the store itself."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from automation.console.runs.wakeup import Wakeup


def test_a_ring_wakes_a_thread_waiting_on_that_run_at_once() -> None:
    wake = Wakeup()
    seen = wake.generation("run-1")
    woke: list[int] = []
    waiter = threading.Thread(target=lambda: woke.append(wake.wait("run-1", seen, timeout_s=30)))
    waiter.start()
    started = time.monotonic()
    wake.ring("run-1")
    waiter.join(10)
    assert woke == [seen + 1]
    assert time.monotonic() - started < 10  # not its 30 s timeout


def test_a_ring_before_the_wait_is_not_missed() -> None:
    wake = Wakeup()
    seen = wake.generation("run-1")
    wake.ring("run-1")  # between the look at the store and the wait
    assert wake.wait("run-1", seen, timeout_s=30) == seen + 1  # returns at once


def test_another_run_s_ring_does_not_wake_a_run_but_wakes_any() -> None:
    wake = Wakeup()
    mine, anything = wake.generation("run-1"), wake.generation("*")
    wake.ring("run-2")
    assert wake.wait("run-1", mine, timeout_s=0.01) == mine  # timed out: unchanged
    assert wake.wait("*", anything, timeout_s=30) == anything + 1


def test_an_event_stream_is_woken_through_its_loop_and_unsubscribes() -> None:
    wake = Wakeup()

    async def stream() -> bool:
        event = wake.subscribe("run-1")
        try:
            threading.Thread(target=wake.ring, args=("run-1",)).start()  # the executor's thread rings
            await asyncio.wait_for(event.wait(), timeout=10)
            return event.is_set()
        finally:
            wake.unsubscribe("run-1", event)

    # in a thread of its own, as uvicorn's loop is: the test's own thread may hold another loop (Playwright's
    # sync API leaves one running in a worker that ran a browser test before)
    with ThreadPoolExecutor(1) as own:
        assert own.submit(asyncio.run, stream()).result(timeout=30)
    assert not wake._async  # nothing left subscribed
    wake.ring("run-1")  # a ring for a stream that has gone is harmless
