"""The agent's state machine over a fake jobs transport: restarts mid-download and mid-update continue."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from otahub.device.agent import Agent
from otahub.device.document import Execution
from otahub.device.download import RangedDownloader
from otahub.device.slots import SlotStore
from otahub.device.sources import HttpSource
from otahub.device.status import AppVersion, Details
from tests.unit.device.test_download import DATA, Behaviour, server
from tests.unit.device.test_verify import certificate

__all__ = ["server"]  # fixture
V1, V2 = AppVersion(1, 0, 0), AppVersion(1, 1, 0)
ACCEPTED = {"reason": "accepted  v1.1.0", "updatedBy": "  v1.0.0"}


class Crash(BaseException):
    """The device loses power: nothing after this point runs."""


@dataclass
class FakeJobs:
    execution: Execution
    updates: list[tuple[str, Details]] = field(default_factory=list)
    crash_on: tuple[str, str] | None = None  # (status, a details value): crash after the server took it

    async def start_next(self) -> Execution | None:
        if self.execution.status not in ("QUEUED", "IN_PROGRESS"):
            return None
        self.execution = replace(self.execution, status="IN_PROGRESS")
        return self.execution

    async def describe(self, job_id: str) -> Execution:
        return self.execution

    async def update(self, job_id: str, job_status: str, details: Details, number: int | None = None) -> None:
        assert number == (self.execution.execution_number or None)  # the agent names the execution it works on
        self.execution = replace(self.execution, status=job_status, status_details=details)
        self.updates.append((job_status, details))
        if self.crash_on is not None and self.crash_on[0] == job_status and self.crash_on[1] in details.values():
            self.crash_on = None
            raise Crash

    async def wait_for_work(self, seconds: float) -> None:
        raise AssertionError("the agent waits for work only in run()")


@pytest.fixture
def setup(server: tuple[str, Behaviour], tmp_path: Path) -> tuple[FakeJobs, Path, Behaviour]:
    base, behaviour = server
    key = ec.generate_private_key(ec.SECP256R1())
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "signer.crt").write_bytes(certificate(key).public_bytes(serialization.Encoding.PEM))
    signature = base64.b64encode(key.sign(DATA, ec.ECDSA(hashes.SHA256()))).decode()
    document = {"afr_ota": {"protocols": ["HTTP"], "files": [
        {"filepath": "fw.bin", "filesize": len(DATA), "fileid": 0, "certfile": "signer.crt",
         "update_data_url": f"{base}/fw", "auth_scheme": "aws.s3.presigned", "sig-sha256-ecdsa": signature}]}}
    jobs = FakeJobs(Execution("AFR_OTA-x", "QUEUED", document=json.dumps(document), execution_number=1))
    return jobs, certs, behaviour


def boot_agent(jobs: FakeJobs, tmp_path: Path, certs: Path, reports: AppVersion = V2) -> Agent:
    store = SlotStore.open(tmp_path / "slots", V1)
    if not store.active_image().exists():
        store.provision(b"old", V1)
    return Agent(jobs, store, certs, boot=lambda _image: reports,
                 sources=[HttpSource(RangedDownloader(tmp_path / "slots" / "download", block_size=1024, backoff=0))])


def test_a_restart_mid_download_resumes(setup: tuple[FakeJobs, Path, Behaviour], tmp_path: Path) -> None:
    jobs, certs, behaviour = setup
    jobs.crash_on = ("IN_PROGRESS", "1/10")
    with pytest.raises(Crash):
        asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())
    behaviour.ranges.clear()
    outcome = asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())  # the agent starts again
    assert outcome is not None and (outcome.status, outcome.details) == ("SUCCEEDED", ACCEPTED)
    assert behaviour.ranges[0][1] == 1024  # the first block was kept
    assert SlotStore.open(tmp_path / "slots", V1).active_image().read_bytes() == DATA


def test_a_restart_after_the_switch_runs_the_self_test(setup: tuple[FakeJobs, Path, Behaviour],
                                                       tmp_path: Path) -> None:
    jobs, certs, _ = setup
    jobs.crash_on = ("IN_PROGRESS", "ready")  # reported ready, then power lost before the reboot
    with pytest.raises(Crash):
        asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())
    agent = boot_agent(jobs, tmp_path, certs)
    assert agent.store.state.pending == "b" and agent.store.active == "a"
    outcome = asyncio.run(agent.run_once())  # the reboot that did not happen happens now
    assert outcome is not None and (outcome.status, outcome.details) == ("SUCCEEDED", ACCEPTED)
    assert (agent.store.active, agent.store.active_image().read_bytes()) == ("b", DATA)
    jobs.execution = replace(jobs.execution, status="IN_PROGRESS", status_details={"self_test": "active",
                                                                                 "updatedBy": "0x02000000"})
    outcome = asyncio.run(agent.run_once())  # a self-test job for an image this device never installed
    assert outcome is not None and outcome.details == {"reason": "rejected: 0x00000011"}  # OtaErrImageStateMismatch


def test_a_lost_success_report_is_sent_again(setup: tuple[FakeJobs, Path, Behaviour], tmp_path: Path) -> None:
    jobs, certs, _ = setup
    jobs_before = jobs.update

    async def lose_the_report(job_id: str, job_status: str, details: Details, number: int | None = None) -> None:
        if job_status == "SUCCEEDED":
            raise Crash  # committed on the device, never reached the server
        await jobs_before(job_id, job_status, details, number)

    jobs.update = lose_the_report  # type: ignore[method-assign]
    with pytest.raises(Crash):
        asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())
    jobs.update = jobs_before  # type: ignore[method-assign]
    agent = boot_agent(jobs, tmp_path, certs)
    assert agent.version == V2  # booted from the committed slot
    outcome = asyncio.run(agent.run_once())
    assert outcome is not None and (outcome.status, outcome.details) == ("SUCCEEDED", ACCEPTED)


def test_a_reset_during_the_self_test_rolls_back(setup: tuple[FakeJobs, Path, Behaviour], tmp_path: Path) -> None:
    jobs, certs, _ = setup
    jobs.crash_on = ("IN_PROGRESS", "active")
    with pytest.raises(Crash):
        asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())
    agent = boot_agent(jobs, tmp_path, certs)
    outcome = asyncio.run(agent.run_once())
    assert outcome is not None and (outcome.status, outcome.details) == ("FAILED", {"reason": "rejected: 0x00000000"})
    assert (agent.store.active, agent.store.testing) == ("a", False)
    assert agent.store.active_image().read_bytes() == b"old"


def test_downgrades_and_bad_documents(setup: tuple[FakeJobs, Path, Behaviour], tmp_path: Path) -> None:
    jobs, certs, _ = setup
    outcome = asyncio.run(boot_agent(jobs, tmp_path, certs, reports=AppVersion(0, 9, 0)).run_once())
    assert outcome is not None and outcome.details == {"reason": "rejected: 0x0000000f"}  # OtaErrDowngradeNotAllowed
    for document, reason in (('{"other": 1}', "0x0000000c: 0x00000000"),
                             ('{"afr_ota": {"protocols": ["MQTT"], "files": [{"filesize": 1, "fileid": 0}]}}',
                              "0x0000000d: 0x00000000")):
        jobs.execution = Execution("job-2", "QUEUED", document=document)
        outcome = asyncio.run(boot_agent(jobs, tmp_path, certs).run_once())
        assert outcome is not None and (outcome.status, outcome.details) == ("FAILED", {"reason": reason})
    assert asyncio.run(boot_agent(jobs, tmp_path, certs).run_once()) is None
