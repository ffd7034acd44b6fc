"""The device topics of jobs and streams: parse what a device published to, name where replies go. Pure.

Jobs (iot-jobs-mqtt.md section 1), all below ``$aws/things/{thing}/jobs/``: ``get``, ``start-next``,
``{jobId}/get`` (``$next`` allowed), ``{jobId}/update`` (a real id only); replies on the request topic
plus ``/accepted`` or ``/rejected``; pushes on ``notify`` and ``notify-next``.
Streams (ota-update-job.md section 3): ``$aws/things/{thing}/streams/{streamId}/{get|describe}/{json|cbor}``;
replies on ``.../data/{fmt}``, ``.../description/{fmt}`` and ``.../rejected/{fmt}``.

A topic outside both namespaces is not ours (``parse_topic`` gives None). One inside them that maps to no
operation is an ``InvalidTopic``, answered on the published topic plus ``/rejected`` [U]; in the streams
namespace, when the stream id and the format still read, on that stream's ``rejected/{fmt}`` [U].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NEXT = "$next"
THINGS = "$aws/things"
_THING = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
_JOB_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_STREAM_ID = re.compile(r"[a-zA-Z0-9_-]{1,128}")


class Format(StrEnum):
    JSON = "json"
    CBOR = "cbor"


@dataclass(frozen=True, slots=True)
class GetPending:
    thing: str


@dataclass(frozen=True, slots=True)
class StartNext:
    thing: str


@dataclass(frozen=True, slots=True)
class Describe:
    thing: str
    job_id: str  # a job id or $next


@dataclass(frozen=True, slots=True)
class Update:
    thing: str
    job_id: str


@dataclass(frozen=True, slots=True)
class StreamGet:
    thing: str
    stream_id: str
    fmt: Format


@dataclass(frozen=True, slots=True)
class StreamDescribe:
    thing: str
    stream_id: str
    fmt: Format


@dataclass(frozen=True, slots=True)
class InvalidTopic:
    """A topic in the jobs or streams namespace that names no operation, and where to say so."""

    topic: str
    reply_topic: str
    thing: str
    namespace: str  # "jobs" or "streams"
    fmt: Format  # the format of the rejection: the stream's when it reads, JSON otherwise
    reason: str


JobsRequest = GetPending | StartNext | Describe | Update
StreamsRequest = StreamGet | StreamDescribe
Request = JobsRequest | StreamsRequest


def valid_thing(name: str) -> bool:
    return _THING.fullmatch(name) is not None


def valid_job_id(job_id: str) -> bool:
    return _JOB_ID.fullmatch(job_id) is not None


def valid_stream_id(stream_id: str) -> bool:
    return _STREAM_ID.fullmatch(stream_id) is not None


def parse_topic(topic: str) -> Request | InvalidTopic | None:
    """The request a published topic names; InvalidTopic for a wrong one in our namespaces; None if not ours."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "$aws" or parts[1] != "things" or parts[3] not in ("jobs", "streams"):
        return None
    thing, rest = parts[2], parts[4:]
    if not valid_thing(thing):
        return _invalid(topic, thing, parts[3], f"{thing!r} is not a thing name")
    if parts[3] == "jobs":
        return _jobs(topic, thing, rest)
    return _streams(topic, thing, rest)


def _invalid(topic: str, thing: str, namespace: str, reason: str) -> InvalidTopic:
    return InvalidTopic(topic, f"{topic}/rejected", thing, namespace, Format.JSON, reason)


def _jobs(topic: str, thing: str, rest: list[str]) -> JobsRequest | InvalidTopic:
    if rest == ["get"]:
        return GetPending(thing)
    if rest == ["start-next"]:
        return StartNext(thing)
    if len(rest) == 2 and rest[1] == "get" and (rest[0] == NEXT or valid_job_id(rest[0])):
        return Describe(thing, rest[0])
    if len(rest) == 2 and rest[1] == "update" and valid_job_id(rest[0]):
        return Update(thing, rest[0])
    return _invalid(topic, thing, "jobs", f"{topic} is not a jobs topic: use get, start-next, {{jobId}}/get or "
                                  "{jobId}/update below $aws/things/{thing}/jobs/")


def _streams(topic: str, thing: str, rest: list[str]) -> StreamsRequest | InvalidTopic:
    if len(rest) == 3 and valid_stream_id(rest[0]) and rest[2] in ("json", "cbor"):
        stream_id, fmt = rest[0], Format(rest[2])
        if rest[1] == "get":
            return StreamGet(thing, stream_id, fmt)
        if rest[1] == "describe":
            return StreamDescribe(thing, stream_id, fmt)
        reason = f"{rest[1]!r} is no stream operation: use get or describe"
        return InvalidTopic(topic, stream_rejected_topic(thing, stream_id, fmt), thing, "streams", fmt, reason)
    return _invalid(topic, thing, "streams", f"{topic} is not a stream topic: use $aws/things/{{thing}}/streams/"
                                  "{streamId}/{get|describe}/{json|cbor}")


def render(request: Request) -> str:
    """The topic a device publishes the request to."""
    match request:
        case GetPending(thing):
            return f"{jobs_prefix(thing)}/get"
        case StartNext(thing):
            return f"{jobs_prefix(thing)}/start-next"
        case Describe(thing, job_id):
            return f"{jobs_prefix(thing)}/{job_id}/get"
        case Update(thing, job_id):
            return f"{jobs_prefix(thing)}/{job_id}/update"
        case StreamGet(thing, stream_id, fmt):
            return f"{stream_prefix(thing, stream_id)}/get/{fmt}"
        case StreamDescribe(thing, stream_id, fmt):
            return f"{stream_prefix(thing, stream_id)}/describe/{fmt}"


def jobs_prefix(thing: str) -> str:
    return f"{THINGS}/{thing}/jobs"


def stream_prefix(thing: str, stream_id: str) -> str:
    return f"{THINGS}/{thing}/streams/{stream_id}"


def accepted_topic(request: JobsRequest) -> str:
    return f"{render(request)}/accepted"


def rejected_topic(request: JobsRequest) -> str:
    return f"{render(request)}/rejected"


def notify_topic(thing: str) -> str:
    return f"{jobs_prefix(thing)}/notify"


def notify_next_topic(thing: str) -> str:
    return f"{jobs_prefix(thing)}/notify-next"


def data_topic(thing: str, stream_id: str, fmt: Format) -> str:
    return f"{stream_prefix(thing, stream_id)}/data/{fmt}"


def description_topic(thing: str, stream_id: str, fmt: Format) -> str:
    return f"{stream_prefix(thing, stream_id)}/description/{fmt}"


def stream_rejected_topic(thing: str, stream_id: str, fmt: Format) -> str:
    return f"{stream_prefix(thing, stream_id)}/rejected/{fmt}"
