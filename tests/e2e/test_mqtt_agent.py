"""The reference agent over MQTT when the service takes its job away: a cancel (force) and an in-progress
timeout reach the device mid-download as rejected updates; it drops the partial image, keeps its running
slot, and takes the retry the job's retry config queues, from notify-next to SUCCEEDED."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from otahub.device.agent import ABANDONED, Agent
from otahub.device.document import Execution
from otahub.device.mqtt_jobs import MqttJobs
from otahub.device.mqtt_link import MqttEndpoint, MqttLink
from otahub.device.slots import SlotStore
from otahub.device.status import AppVersion, Details
from otahub.device.stream_download import StreamSource
from tests.e2e.jobs_helpers import fleet
from tests.e2e.test_agent import Signer, certs_dir
from tests.e2e.test_mqtt_fleet import FIRMWARE, mqtt_ota_update
from tests.e2e.test_ota_updates import signer
from tests.harness import OtahubServer

__all__ = ["signer"]  # fixture
V1, V2 = AppVersion(1, 0, 0), AppVersion(1, 1, 0)
OLD_IMAGE = b"factory image " * 100


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-mqtt-agent"), virtual_clock=True,
                            extra_args=["--mqtt-plain-port", "0"]).start()
    yield instance
    instance.stop()


@dataclass
class Hooked:
    """The MQTT jobs transport, calling ``hook`` after each update the service accepted."""

    inner: MqttJobs
    hook: Callable[[str, Details], Awaitable[None]] | None = None
    updates: list[tuple[str, Details]] = field(default_factory=list)

    async def start_next(self) -> Execution | None:
        return await self.inner.start_next()

    async def describe(self, job_id: str) -> Execution:
        return await self.inner.describe(job_id)

    async def update(self, job_id: str, job_status: str, details: Details, number: int | None = None) -> None:
        await self.inner.update(job_id, job_status, details, number)
        self.updates.append((job_status, details))
        if self.hook is not None:
            await self.hook(job_status, details)

    async def wait_for_work(self, seconds: float) -> None:
        await self.inner.wait_for_work(seconds)


def mqtt_agent(server: OtahubServer, thing: str, slots: Path, certs: Path) -> tuple[Agent, Hooked, MqttLink]:
    store = SlotStore.open(slots, V1)
    store.provision(OLD_IMAGE, V1)
    link = MqttLink(MqttEndpoint("127.0.0.1", server.mqtt_port), thing)
    transport = Hooked(MqttJobs(link))
    source = StreamSource(link, slots / "stream", block_size=1024, blocks_per_request=4)
    return Agent(transport, store, certs, boot=lambda _image: V2, sources=[source]), transport, link


def execution(iot: Any, job_id: str, thing: str, number: int) -> dict[str, Any]:
    return dict(iot.describe_job_execution(jobId=job_id, thingName=thing, executionNumber=number)["execution"])


async def run(agent: Agent, link: MqttLink, rounds: int, wait: float = 5.0) -> list[str]:
    outcomes: list[str] = []
    try:
        for _ in range(rounds):
            outcome = await agent.run_once()
            if outcome is None:
                await agent.transport.wait_for_work(wait)
                continue
            outcomes.append(outcome.status)
            if outcome.status != ABANDONED:
                break
    finally:
        await link.close()
    return outcomes


def test_a_forced_cancel_mid_download_is_abandoned_and_the_slots_stay(server: OtahubServer, signer: Signer,
                                                                      tmp_path: Path) -> None:
    iot = server.client("iot")
    group, (thing,) = fleet(iot, "mqcancel", 1)
    job_id = mqtt_ota_update(server, iot, "mqcancel", group, signer, ["MQTT"])
    agent, transport, link = mqtt_agent(server, thing, tmp_path / "slots", certs_dir(tmp_path, signer))

    async def cancel_on_first_block(_status: str, details: Details) -> None:
        if details.get("receive", "").startswith("1/"):
            await asyncio.to_thread(iot.cancel_job, jobId=job_id, force=True)

    transport.hook = cancel_on_first_block
    outcomes = asyncio.run(run(agent, link, rounds=3, wait=0.5))
    assert outcomes == [ABANDONED]  # then no job: the rounds ran out waiting
    assert execution(iot, job_id, thing, 1)["status"] == "CANCELED"
    assert transport.updates == [("IN_PROGRESS", {"receive": "1/151"})]  # the 64th block's report was refused
    store = agent.store
    assert (store.active, store.state.pending, store.testing, store.version()) == ("a", None, False, V1)
    assert store.active_image().read_bytes() == OLD_IMAGE
    assert not (tmp_path / "slots" / "stream" / "image.part").exists()


def test_a_timed_out_download_is_retried_and_the_retry_succeeds(server: OtahubServer, signer: Signer,
                                                                tmp_path: Path) -> None:
    iot = server.client("iot")
    source_group, _ = fleet(iot, "mqretry-src", 1)  # CreateOTAUpdate has no retry config: a job with its document
    ota_job = mqtt_ota_update(server, iot, "mqretry", source_group, signer, ["MQTT"])
    _, (thing,) = fleet(iot, "mqretry", 1)
    job_id = "mqretry-job"
    iot.create_job(
        jobId=job_id, targets=[iot.describe_thing(thingName=thing)["thingArn"]],
        document=iot.get_job_document(jobId=ota_job, beforeSubstitution=True)["document"],
        timeoutConfig={"inProgressTimeoutInMinutes": 5},
        jobExecutionsRetryConfig={"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 1}]},
    )
    agent, transport, link = mqtt_agent(server, thing, tmp_path / "slots", certs_dir(tmp_path, signer))
    timed_out = False

    async def stall_past_the_timeout(_status: str, details: Details) -> None:
        nonlocal timed_out
        if details.get("receive", "").startswith("1/") and not timed_out:
            timed_out = True
            await asyncio.to_thread(server.advance_clock, 6 * 60)

    transport.hook = stall_past_the_timeout
    outcomes = asyncio.run(run(agent, link, rounds=4))
    assert outcomes == [ABANDONED, "SUCCEEDED"]  # the report on attempt 1 was refused; attempt 2 came by notify-next
    first, retry = execution(iot, job_id, thing, 1), execution(iot, job_id, thing, 2)
    assert first["status"] == "TIMED_OUT"
    assert retry["status"] == "SUCCEEDED"
    summaries = iot.list_job_executions_for_job(jobId=job_id)["executionSummaries"]
    assert [s["jobExecutionSummary"].get("retryAttempt", 0) for s in summaries] == [1]  # the latest, a retry
    assert agent.store.active_image().read_bytes() == FIRMWARE and agent.store.version() == V2
    assert iot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"
