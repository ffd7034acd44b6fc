"""The jobs topics (iot-jobs-mqtt.md section 3): a device's request in, the replies to publish out.

Transport-independent: ``handle(thing, topic, payload)`` answers one publish with the messages to send
back. Replies are JSON with whole epoch-second timestamps; a JobExecution carries its ``jobDocument`` as
a parsed JSON object (the document text comes from ``document``, which substitutes presigned URLs).
The builders of the ``notify`` and ``notify-next`` pushes are here too; when to push is decided elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from otahub.domain.clock import Clock
from otahub.domain.errors import (
    DomainError,
    InvalidInput,
    InvalidStateTransition,
    NotFound,
    TerminalState,
    VersionConflict,
)
from otahub.domain.executions import DeviceUpdate, Execution
from otahub.gateway import job_requests as fields
from otahub.gateway.messages import JOBS_QOS, Outgoing, Refused, epoch, json_bytes
from otahub.gateway.topics import (
    Describe,
    GetPending,
    InvalidTopic,
    JobsRequest,
    StartNext,
    Update,
    accepted_topic,
    parse_topic,
    rejected_topic,
)
from otahub.services.device_jobs import DeviceJobs, DeviceView

MAX_NOTIFY = 10
Document = Callable[[DeviceView], str]
Wire = dict[str, Any]

# Domain error -> rejected code, first match wins (VersionMismatch and InvalidStateTransition are
# answered with the execution's state where they arise, in JobsTopics._update).
ERROR_CODES: tuple[tuple[type[DomainError], str], ...] = (
    (NotFound, "ResourceNotFound"),
    (VersionConflict, "VersionMismatch"),
    (InvalidStateTransition, "InvalidStateTransition"),
    (TerminalState, "TerminalStateReached"),
    (InvalidInput, "InvalidRequest"),
    (DomainError, "InternalError"),
)


def error_code(error: DomainError) -> str:
    return next(code for kind, code in ERROR_CODES if isinstance(error, kind))


class JobsTopics:
    def __init__(self, devices: DeviceJobs, document: Document, clock: Clock) -> None:
        self.devices = devices
        self.document = document
        self.clock = clock

    def handle(self, thing: str, topic: str, payload: bytes) -> list[Outgoing]:
        """The replies to one publish by ``thing``; none for a topic outside the jobs namespace, or one
        naming another thing (the broker's policy refuses such a publish; no jobs code says so [U])."""
        request = parse_topic(topic)
        now = self.clock.now()
        if isinstance(request, InvalidTopic):
            return self._invalid_topic(thing, request, payload, now)
        if not isinstance(request, GetPending | StartNext | Describe | Update) or request.thing != thing:
            return []
        try:
            body = fields.read_body(payload)
            token = fields.client_token(body)
        except Refused as refused:
            return [_rejected(rejected_topic(request), refused, None, now)]
        try:
            result = self._serve(request, body, now)
        except Refused as refused:
            return [_rejected(rejected_topic(request), refused, token, now)]
        except DomainError as error:
            return [_rejected(rejected_topic(request), Refused(error_code(error), error.message), token, now)]
        return [Outgoing(accepted_topic(request), json_bytes(_closed(result, token, now)), JOBS_QOS)]

    def _invalid_topic(self, thing: str, request: InvalidTopic, payload: bytes, now: datetime) -> list[Outgoing]:
        if request.namespace != "jobs" or request.thing != thing:
            return []
        try:
            token = fields.client_token(fields.read_body(payload))  # echoed when it reads [U]
        except Refused:
            token = None
        return [_rejected(request.reply_topic, Refused("InvalidTopic", request.reason), token, now)]

    def _serve(self, request: JobsRequest, body: fields.Body, now: datetime) -> Wire:
        match request:
            case GetPending(thing):
                in_progress, queued = self.devices.pending(thing)
                return {"inProgressJobs": [summary(e) for e in in_progress], "queuedJobs": [summary(e) for e in queued]}
            case StartNext(thing):
                details, step = fields.status_details(body), fields.long_field(body, "stepTimeoutInMinutes")
                return self._execution_reply(self.devices.start_next(thing, details, step), now, True)
            case Describe(thing, job_id):
                number = fields.long_field(body, "executionNumber")
                include = fields.flag(body, "includeJobDocument", True)
                return self._execution_reply(self.devices.describe(thing, job_id, number), now, include)
            case Update():
                return self._update(request, body)

    def _execution_reply(self, view: DeviceView | None, now: datetime, include_document: bool) -> Wire:
        if view is None:
            return {}
        return {"execution": execution_wire(view, now, self.document(view) if include_document else None)}

    def _update(self, request: Update, body: fields.Body) -> Wire:
        update = DeviceUpdate(fields.status(body), fields.status_details(body), fields.expected_version(body),
                              fields.long_field(body, "stepTimeoutInMinutes"))
        number = fields.long_field(body, "executionNumber")
        include_state = fields.flag(body, "includeJobExecutionState", False)
        include_document = fields.flag(body, "includeJobDocument", False)
        try:
            view = self.devices.update(request.thing, request.job_id, update, number)
        except (VersionConflict, InvalidStateTransition) as error:
            state = self._state(request.thing, request.job_id, number)
            raise Refused(error_code(error), error.message, state) from error
        result: Wire = {}
        if include_state:
            result["executionState"] = execution_state(view.execution)
        if include_document:
            result["jobDocument"] = document_object(self.document(view))
        return result

    def _state(self, thing: str, job_id: str, number: int | None) -> Wire | None:
        """The stored state of an execution, terminal ones too (what a rejection shows the device)."""
        execution = self.devices.state(thing, job_id, number)
        return None if execution is None else execution_state(execution)


def _closed(result: Wire, token: str | None, now: datetime) -> Wire:
    """A reply's own fields, then ``timestamp`` and the echoed ``clientToken``."""
    closed = {**result, "timestamp": epoch(now)}
    if token is not None:
        closed["clientToken"] = token
    return closed


def _rejected(topic: str, refused: Refused, token: str | None, now: datetime) -> Outgoing:
    wire: Wire = {"code": refused.code, "message": refused.message}
    if token is not None:
        wire["clientToken"] = token
    wire["timestamp"] = epoch(now)
    if refused.state is not None:
        wire["executionState"] = refused.state
    return Outgoing(topic, json_bytes(wire), JOBS_QOS)


def summary(e: Execution) -> Wire:
    """JobExecutionSummary: no status (the list it is in says it)."""
    wire: Wire = {"jobId": e.job_id, "queuedAt": epoch(e.queued_at)}
    if e.started_at is not None:
        wire["startedAt"] = epoch(e.started_at)
    wire |= {"lastUpdatedAt": epoch(e.last_updated_at), "versionNumber": e.version,
             "executionNumber": e.execution_number}
    return wire


def execution_state(e: Execution) -> Wire:
    """JobExecutionState (statusDetails omitted when empty, as in a JobExecution)."""
    wire: Wire = {"status": e.status.value}
    if e.status_details:
        wire["statusDetails"] = dict(e.status_details)
    wire["versionNumber"] = e.version
    return wire


def execution_wire(view: DeviceView, now: datetime, document: str | None) -> Wire:
    """JobExecution as sent over MQTT; ``document`` the substituted document text, None to leave it out."""
    e = view.execution
    wire: Wire = {"jobId": e.job_id, "thingName": e.thing_name, "status": e.status.value}
    if e.status_details:
        wire["statusDetails"] = dict(e.status_details)
    wire["queuedAt"] = epoch(e.queued_at)
    if e.started_at is not None:
        wire["startedAt"] = epoch(e.started_at)
    wire["lastUpdatedAt"] = epoch(e.last_updated_at)
    seconds = e.seconds_before_timeout(now)
    if seconds is not None:
        wire["approximateSecondsBeforeTimedOut"] = seconds
    wire |= {"versionNumber": e.version, "executionNumber": e.execution_number}
    if document is not None:
        wire["jobDocument"] = document_object(document)
    return wire


def document_object(text: str) -> Any:
    """The job document parsed (over MQTT it is JSON, not a string); text that is no JSON stays text [U]."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def notify_payload(in_progress: Sequence[Execution], queued: Sequence[Execution], now: datetime) -> bytes:
    """ListNotification on ``notify``: at most 10 summaries, IN_PROGRESS first, then QUEUED, each by queue
    time; empty lists left out (``{"timestamp":N,"jobs":{}}`` when nothing is pending)."""
    first = sorted(in_progress, key=lambda e: e.queued_at)[:MAX_NOTIFY]
    then = sorted(queued, key=lambda e: e.queued_at)[: MAX_NOTIFY - len(first)]
    jobs: Wire = {}
    if first:
        jobs["IN_PROGRESS"] = [summary(e) for e in first]
    if then:
        jobs["QUEUED"] = [summary(e) for e in then]
    return json_bytes({"timestamp": epoch(now), "jobs": jobs})


def notify_next_payload(view: DeviceView | None, now: datetime, document: Document) -> bytes:
    """NextNotification on ``notify-next``: the next execution with its document, or only the timestamp
    when nothing is pending."""
    wire: Wire = {"timestamp": epoch(now)}
    if view is not None:
        wire["execution"] = execution_wire(view, now, document(view))
    return json_bytes(wire)
