"""The jobs pushes (iot-jobs-mqtt.md sections 3.5 and 3.6): ``notify`` and ``notify-next`` to the things
whose pending executions changed.

The job repository notes a thing in the ``device_notices`` outbox in the transaction that changes its
executions (dispatch, a device update, a timeout, a retry, a cancel, a deletion). ``Notifier.drain`` takes
noted things and, for each, reads its pending executions and its next one (what DescribeJobExecution
``$next`` answers) and publishes what changed since its last push:

- ``notify`` when the set of pending executions, as (jobId, executionNumber), changed: one entered or
  left. A QUEUED -> IN_PROGRESS change keeps the set, so it pushes no ``notify`` (AWS's worked example).
- ``notify-next`` when the identity of the next execution changed (its details changing is not enough);
  ``{"timestamp": N}`` alone once nothing is pending.

What was last pushed is kept in memory for the ``remember`` most recently pushed things; a thing seen
for the first time (or again after being forgotten, or after a restart) gets both. A thing taken from
the outbox is read after its change committed, so a change racing a drain is noted again and pushed by
the next one: the last push always catches up with the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from otahub.domain.clock import Clock
from otahub.domain.errors import NotFound
from otahub.domain.executions import Execution
from otahub.gateway.jobs import Document, notify_next_payload, notify_payload
from otahub.gateway.messages import JOBS_QOS
from otahub.gateway.topics import notify_next_topic, notify_topic
from otahub.services.device_jobs import NEXT, DeviceJobs

DRAIN_LIMIT = 500
REMEMBERED = 100_000  # things whose last push is kept (about 200 bytes each)

Key = tuple[str, int]  # (jobId, executionNumber): an execution's identity
Publish = Callable[[str, bytes, int], None]
Take = Callable[[int], list[str]]


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a thing was last told: its pending set (notify) and its next execution (notify-next)."""

    pending: frozenset[Key]
    next: Key | None


def key(execution: Execution) -> Key:
    return (execution.job_id, execution.execution_number)


class Notifier:
    def __init__(self, devices: DeviceJobs, take: Take, publish: Publish, document: Document, clock: Clock,
                 remember: int = REMEMBERED) -> None:
        self.devices = devices
        self.take = take
        self.publish = publish
        self.document = document
        self.clock = clock
        self.remember = remember
        self.pushed: OrderedDict[str, Pushed] = OrderedDict()  # oldest push first

    def drain(self, limit: int = DRAIN_LIMIT) -> int:
        """Push to up to ``limit`` noted things, longest waiting first; how many were taken (``limit``:
        more may be waiting)."""
        things = self.take(limit)
        for thing in things:
            self._push(thing)
        return len(things)

    def _push(self, thing: str) -> None:
        last = self.pushed.pop(thing, None)  # put back only once published, so a failed push is redone
        try:
            in_progress, queued = self.devices.pending(thing)
            view = self.devices.describe(thing, NEXT, None)
        except NotFound:  # the thing (or, racing, the next job) is gone: nothing to tell, nothing to keep
            return
        now = self.clock.now()
        current = Pushed(frozenset(key(e) for e in (*in_progress, *queued)),
                         None if view is None else key(view.execution))
        if last is None or last.pending != current.pending:
            self.publish(notify_topic(thing), notify_payload(in_progress, queued, now), JOBS_QOS)
        if last is None or last.next != current.next:
            self.publish(notify_next_topic(thing), notify_next_payload(view, now, self.document), JOBS_QOS)
        self.pushed[thing] = current
        while len(self.pushed) > self.remember:
            self.pushed.popitem(last=False)
