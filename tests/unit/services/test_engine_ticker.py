"""The real-time ticker: it ticks the engine by itself, so timers fire on a server nobody drives."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from otahub.domain.executions import ExecutionStatus
from otahub.domain.jobs import JobConfig
from otahub.services.timekeeping import EngineTicker
from tests.unit.services.jobs_store import open_jobs_store


def test_the_ticker_times_out_an_execution_without_being_asked(tmp_path: Path) -> None:
    store = open_jobs_store(tmp_path)
    store.fleet("dev1")
    store.job("j", "dev1", config=JobConfig(in_progress_timeout_minutes=1))
    store.devices.start_next("dev1", None, None)
    store.clock.advance(timedelta(minutes=2))  # due, but nobody ticks the engine
    assert store.counts("j") == {ExecutionStatus.IN_PROGRESS: 1}
    ticker = EngineTicker(store.engine, interval=0.05)
    ticker.start()
    try:
        deadline = time.monotonic() + 10  # a bound on the wait, not a speed assertion
        while store.counts("j") != {ExecutionStatus.TIMED_OUT: 1} and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        ticker.stop()
    assert store.counts("j") == {ExecutionStatus.TIMED_OUT: 1}
