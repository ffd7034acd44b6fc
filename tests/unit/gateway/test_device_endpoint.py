"""The device endpoint's policy: identities, own-thing topics only, and which handler answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otahub.gateway.device_endpoint import DeviceAuthenticator, DeviceTopics, topic_thing
from otahub.gateway.messages import Outgoing

things_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:_-", min_size=1, max_size=20)


@dataclass(frozen=True)
class FakeClient:
    client_id: str
    things: tuple[str, ...]


class Echo:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def handle(self, thing: str, topic: str, payload: bytes) -> list[Outgoing]:
        self.calls.append((thing, topic))
        return [Outgoing(f"{topic}/accepted", self.name.encode(), 1)]


class Certificates:
    def __init__(self, known: dict[str, list[str] | None]) -> None:
        self.known = known

    def things_for_certificate(self, certificate_id: str) -> list[str] | None:
        return self.known.get(certificate_id)


def endpoint() -> tuple[DeviceTopics, Echo, Echo]:
    jobs, streams = Echo("jobs"), Echo("streams")
    return DeviceTopics(jobs, streams), jobs, streams


def test_jobs_and_streams_topics_go_to_their_handlers() -> None:
    topics, jobs, streams = endpoint()
    client = FakeClient("dev1", ("dev1",))
    assert topics.handle(client, "$aws/things/dev1/jobs/start-next", b"{}") == [
        Outgoing("$aws/things/dev1/jobs/start-next/accepted", b"jobs", 1)]
    assert topics.handle(client, "$aws/things/dev1/streams/s1/get/cbor", b"") is not None
    assert jobs.calls == [("dev1", "$aws/things/dev1/jobs/start-next")]
    assert streams.calls == [("dev1", "$aws/things/dev1/streams/s1/get/cbor")]


def test_other_topics_are_routed_normally() -> None:
    topics, jobs, _ = endpoint()
    client = FakeClient("dev1", ("dev1",))
    assert topics.handle(client, "sensors/dev1/temperature", b"21") is None
    assert topics.handle(client, "$aws/things/dev1/shadow/update", b"{}") is None  # no shadows (yet)
    assert jobs.calls == []


def test_another_things_reserved_topics_are_refused() -> None:
    topics, jobs, _ = endpoint()
    with pytest.raises(PermissionError):
        topics.handle(FakeClient("dev1", ("dev1",)), "$aws/things/dev2/jobs/start-next", b"{}")
    assert jobs.calls == []
    client = FakeClient("dev1", ("dev1",))
    assert topics.may_subscribe(client, "$aws/things/dev1/jobs/notify-next")
    assert topics.may_subscribe(client, "$aws/things/dev1/jobs/#")
    assert topics.may_subscribe(client, "sensors/#") and topics.may_subscribe(client, "#")
    for refused in ("$aws/things/dev2/jobs/notify-next", "$aws/things/+/jobs/notify", "$aws/#", "$aws/things/#",
                    "$share/g/$aws/things/dev2/jobs/notify", "$SYS/#"):
        assert not topics.may_subscribe(client, refused), refused
    assert topics.may_subscribe(client, "$share/g/$aws/things/dev1/jobs/notify")


@given(things_names, things_names)
def test_a_client_reaches_exactly_its_own_things(mine: str, other: str) -> None:
    topics, _, _ = endpoint()
    client = FakeClient(mine, (mine,))
    assert topics.may_subscribe(client, f"$aws/things/{mine}/jobs/notify")
    assert topics.may_subscribe(client, f"$aws/things/{other}/jobs/notify") == (other == mine)
    assert topic_thing(f"$aws/things/{other}/jobs/get") == (other, "jobs")


def test_certificates_decide_over_tls_and_the_client_id_on_the_plain_port() -> None:
    der = b"certificate bytes"
    fingerprint = hashlib.sha256(der).hexdigest()
    revoked = b"revoked certificate"
    known = {fingerprint: ["lamp", "dev1"], hashlib.sha256(revoked).hexdigest(): None}
    plain = DeviceAuthenticator(Certificates(known), plain_allowed=True)
    assert plain.authenticate("dev1", None, None, der) == ("dev1", "lamp")  # the one it says it is first
    assert plain.authenticate("dev1", None, None, revoked) is None
    assert plain.authenticate("dev1", None, None, b"unknown") is None
    assert plain.authenticate("dev1", "?SDK=IoTDeviceSDK/Python", None, None) == ("dev1",)  # awscrt's username
    assert plain.authenticate("", None, None, None) is None
    assert DeviceAuthenticator(Certificates(known), plain_allowed=False).authenticate("dev1", None, None, None) is None
