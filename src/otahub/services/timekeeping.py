"""Moving a controllable clock and letting the rollout engine keep up, and ticking on real time.

`TimeDriver.advance` jumps from one due moment to the next (rollout minutes, timeouts, schedule and
window edges), ticking the engine at each, so advancing a virtual clock by a day rehearses the day.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Protocol

log = logging.getLogger("otahub.engine")
MAX_STEPS = 200_000
STALL_STEP = timedelta(minutes=1)


class Engine(Protocol):
    """What moves with time: the rollout engine, the FUOTA session engine."""

    def next_due(self) -> datetime | None: ...
    def tick(self) -> object: ...


class Engines:
    """Several engines as one: due when the first is due; a tick ticks each."""

    def __init__(self, *engines: Engine) -> None:
        self.engines = engines

    def next_due(self) -> datetime | None:
        return min((due for due in (e.next_due() for e in self.engines) if due is not None), default=None)

    def tick(self) -> None:
        """Each engine ticks even if one before it fails; the first failure is raised after all ticked."""
        failure: Exception | None = None
        for engine in self.engines:
            try:
                engine.tick()
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure


class MovableClock(Protocol):
    def now(self) -> datetime: ...
    def advance(self, delta: timedelta) -> None: ...


class TimeDriver:
    def __init__(self, clock: MovableClock, engine: Engine) -> None:
        self.clock = clock
        self.engine = engine
        self.lock = threading.Lock()

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self.lock:
            target = self.clock.now() + timedelta(seconds=seconds)
            last: datetime | None = None
            for _ in range(MAX_STEPS):
                wake = self.engine.next_due()
                if wake is None or wake > target:
                    break
                now = self.clock.now()
                if last is not None and wake <= last:  # nothing moved at that instant: step on
                    wake = min(target, now + STALL_STEP)
                    if wake <= now:
                        break
                if wake > now:
                    self.clock.advance(wake - now)
                self.engine.tick()
                last = wake
            remaining = target - self.clock.now()
            if remaining > timedelta(0):
                self.clock.advance(remaining)
            self.engine.tick()
            return self.clock.now()


class EngineTicker:
    """Ticks the engine every ``interval`` seconds on a daemon thread (real-time clocks)."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="otahub-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.engine.tick()
            except Exception:  # a failed tick is retried on the next one; the ticker must live on
                log.exception("engine tick failed")
