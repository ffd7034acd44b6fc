"""Engines: the rollout and FUOTA engines as one; due at the first one's time, and one failing engine does not
keep the others from their tick."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from otahub.services.timekeeping import Engines


class Recorder:
    def __init__(self, due: datetime | None, fails: bool = False) -> None:
        self.due, self.fails, self.ticks = due, fails, 0

    def next_due(self) -> datetime | None:
        return self.due

    def tick(self) -> None:
        self.ticks += 1
        if self.fails:
            raise RuntimeError("this engine's tick failed")


def test_due_when_the_first_is_due() -> None:
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert Engines(Recorder(late), Recorder(None), Recorder(early)).next_due() == early
    assert Engines(Recorder(None)).next_due() is None


def test_a_failing_engine_does_not_stop_the_next_one() -> None:
    broken, healthy = Recorder(None, fails=True), Recorder(None)
    with pytest.raises(RuntimeError, match="tick failed"):
        Engines(broken, healthy).tick()
    assert (broken.ticks, healthy.ticks) == (1, 1)
