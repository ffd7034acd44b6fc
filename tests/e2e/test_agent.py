"""The reference device agent over HTTP against a real otahub: OTA update to SUCCEEDED, and its failures."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from otahub.device.agent import Agent
from otahub.device.document import Execution
from otahub.device.download import RangedDownloader
from otahub.device.http_jobs import HttpJobs
from otahub.device.slots import SlotStore
from otahub.device.sources import HttpSource
from otahub.device.status import AppVersion, Details
from tests.e2e.jobs_helpers import device, fleet, viot, vserver
from tests.e2e.test_ota_updates import ROLE, signer
from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer

__all__ = ["device", "signer", "viot", "vserver"]  # fixtures
Signer = tuple[ec.EllipticCurvePrivateKey, str]
OLD_IMAGE = b"factory image 1.0.0 " * 50
FIRMWARE = bytes(i * 7 % 251 for i in range(70 * 1024 + 100))  # 71 blocks of 1 KiB
V1, V2 = AppVersion(1, 0, 0), AppVersion(1, 1, 0)


@dataclass
class Recorder:
    """The HTTP transport, keeping every update the agent sends (the server keeps only the last)."""

    inner: HttpJobs
    updates: list[tuple[str, Details]] = field(default_factory=list)
    described: int = 0
    on_update: Callable[[str, Details], None] | None = None

    async def start_next(self) -> Execution | None:
        return await self.inner.start_next()

    async def describe(self, job_id: str) -> Execution:
        self.described += 1
        return await self.inner.describe(job_id)

    async def wait_for_work(self, seconds: float) -> None:
        await self.inner.wait_for_work(seconds)

    async def update(self, job_id: str, job_status: str, details: Details, number: int | None = None) -> None:
        await self.inner.update(job_id, job_status, details, number)
        self.updates.append((job_status, details))
        if self.on_update is not None:
            self.on_update(job_status, details)


def ota_update(server: OtahubServer, iot: Any, unique: str, signer: Signer, things: int = 1,
               tamper: bool = False) -> tuple[str, list[str]]:
    """FIRMWARE in otahub's S3, signed, rolled out over HTTP; with ``tamper`` the object is replaced afterwards."""
    s3 = s3_client(server)
    bucket = f"agent-{unique}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fw.bin", Body=FIRMWARE)
    group, names = fleet(iot, f"agent-{unique}", things)
    key, cert = signer
    iot.create_ota_update(
        otaUpdateId=f"agent-{unique}", targets=[group], protocols=["HTTP"], roleArn=ROLE,
        files=[{"fileName": "firmware.bin", "fileLocation": {"s3Location": {"bucket": bucket, "key": "fw.bin"}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "signer.crt", "inlineDocument": cert},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}],
    )
    assert iot.get_ota_update(otaUpdateId=f"agent-{unique}")["otaUpdateInfo"]["otaUpdateStatus"] == "CREATE_COMPLETE"
    if tamper:  # same size, other bytes, the old signature still in the job document
        s3.put_object(Bucket=bucket, Key="fw.bin", Body=bytes(reversed(FIRMWARE)))
    return f"AFR_OTA-agent-{unique}", names


def certs_dir(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "signer-certs"
    path.mkdir()
    (path / "signer.crt").write_text(signer[1])
    return path


def make_agent(server: OtahubServer, thing: str, slots: Path, certs: Path, *,
               self_test: Callable[[Path], bool] | None = None, reports: AppVersion = V2) -> tuple[Agent, Recorder]:
    store = SlotStore.open(slots, V1)
    store.provision(OLD_IMAGE, V1)
    recorder = Recorder(HttpJobs(server.client("iot-jobs-data"), thing))
    agent = Agent(recorder, store, certs, boot=lambda _image: reports, self_test=self_test,
                  sources=[HttpSource(RangedDownloader(slots / "download", block_size=1024, backoff=0))])
    return agent, recorder


def execution_on_server(iot: Any, job_id: str, thing: str) -> tuple[str, dict[str, str]]:
    found = iot.describe_job_execution(jobId=job_id, thingName=thing)["execution"]
    return found["status"], dict(found.get("statusDetails", {}).get("detailsMap", {}))


ACCEPTED = {"reason": "accepted  v1.1.0", "updatedBy": "  v1.0.0"}


def test_update_to_succeeded_in_process_and_by_the_cli(vserver: OtahubServer, viot: Any, unique: str,
                                                       signer: Signer, tmp_path: Path) -> None:
    job_id, names = ota_update(vserver, viot, unique, signer, things=2)
    certs = certs_dir(tmp_path, signer)
    agent, recorder = make_agent(vserver, names[0], tmp_path / "slots-0", certs)

    def expire_the_url(_status: str, details: Details) -> None:
        if details.get("receive") == "1/71":  # past the presigned URL's 1800 s: the agent must fetch a fresh one
            vserver.advance_clock(3600)

    recorder.on_update = expire_the_url
    outcome = asyncio.run(agent.run_once())
    assert outcome is not None and (outcome.status, outcome.details) == ("SUCCEEDED", ACCEPTED)
    assert recorder.updates == [
        ("IN_PROGRESS", {"receive": "1/71"}),
        ("IN_PROGRESS", {"receive": "64/71"}),
        ("IN_PROGRESS", {"self_test": "ready", "updatedBy": "0x01000000"}),
        ("IN_PROGRESS", {"self_test": "active", "updatedBy": "0x01010000"}),
        ("SUCCEEDED", ACCEPTED),
    ]
    assert recorder.described == 1  # the expired URL was refused once and replaced
    assert execution_on_server(viot, job_id, names[0]) == ("SUCCEEDED", ACCEPTED)
    assert (agent.store.active, agent.store.testing, agent.store.version(), agent.version) == ("b", False, V2, V2)
    assert agent.store.active_image().read_bytes() == FIRMWARE
    assert asyncio.run(agent.run_once()) is None  # nothing left for this thing

    slots = tmp_path / "slots-1"
    command = [sys.executable, "-m", "otahub.cli.agent", "--thing", names[1], "--endpoint", vserver.endpoint,
               "--slots", str(slots), "--signer-certs", str(certs), "--once", "--version", "1.0.0",
               "--image-version", "1.1.0", "--block-size", "1024"]
    done = subprocess.run(command, env=vserver.aws_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{job_id}: SUCCEEDED reason='accepted  v1.1.0'" in done.stdout
    assert execution_on_server(viot, job_id, names[1]) == ("SUCCEEDED", ACCEPTED)
    store = SlotStore.open(slots, V1)
    assert (store.active, store.version()) == ("b", V2) and store.active_image().read_bytes() == FIRMWARE
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"
    again = subprocess.run(command, env=vserver.aws_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "no pending job" in again.stdout


def test_tampered_image_fails_on_its_signature(vserver: OtahubServer, viot: Any, unique: str, signer: Signer,
                                               tmp_path: Path) -> None:
    job_id, names = ota_update(vserver, viot, unique, signer, tamper=True)
    agent, recorder = make_agent(vserver, names[0], tmp_path / "slots", certs_dir(tmp_path, signer))
    outcome = asyncio.run(agent.run_once())
    failure = {"reason": "0xe3000000: 0xfffffffe"}  # OtaPalSignatureCheckFailed: IngestResultSigCheckFail
    assert outcome is not None and (outcome.status, outcome.details) == ("FAILED", failure)
    assert "does not verify" in outcome.message
    assert recorder.updates[-1] == ("FAILED", failure)
    assert not any("self_test" in details for _, details in recorder.updates)
    assert execution_on_server(viot, job_id, names[0]) == ("FAILED", failure)
    store = agent.store
    assert (store.active, store.state.pending, store.testing) == ("a", None, False)
    assert store.active_image().read_bytes() == OLD_IMAGE and not store.image("b").exists()
    assert not (tmp_path / "slots" / "download" / "image.part").exists()


def test_failing_self_test_rolls_back(vserver: OtahubServer, viot: Any, unique: str, signer: Signer,
                                      tmp_path: Path) -> None:
    job_id, names = ota_update(vserver, viot, unique, signer)
    tested: list[bytes] = []

    def self_test(image: Path) -> bool:
        tested.append(image.read_bytes())
        return False

    agent, recorder = make_agent(vserver, names[0], tmp_path / "slots", certs_dir(tmp_path, signer),
                                 self_test=self_test)
    outcome = asyncio.run(agent.run_once())
    rejected = {"reason": "rejected: 0x00000000"}
    assert outcome is not None and (outcome.status, outcome.details) == ("FAILED", rejected)
    assert tested == [FIRMWARE]  # the new image ran its test from the switched-to slot
    assert recorder.updates[-2:] == [("IN_PROGRESS", {"self_test": "active", "updatedBy": "0x01010000"}),
                                     ("FAILED", rejected)]
    assert execution_on_server(viot, job_id, names[0]) == ("FAILED", rejected)
    store = agent.store
    assert (store.active, store.testing, store.version(), agent.version) == ("a", False, V1, V1)
    assert store.active_image().read_bytes() == OLD_IMAGE
    assert viot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_an_image_reporting_the_running_version_is_rejected(vserver: OtahubServer, viot: Any, unique: str,
                                                            signer: Signer, tmp_path: Path) -> None:
    job_id, names = ota_update(vserver, viot, unique, signer)
    agent, recorder = make_agent(vserver, names[0], tmp_path / "slots", certs_dir(tmp_path, signer), reports=V1)
    outcome = asyncio.run(agent.run_once())
    same_version = {"reason": "rejected: 0x00000010"}  # OtaErrSameFirmwareVersion
    assert outcome is not None and (outcome.status, outcome.details) == ("FAILED", same_version)
    assert recorder.updates[-2] == ("IN_PROGRESS", {"self_test": "ready", "updatedBy": "0x01000000"})
    assert execution_on_server(viot, job_id, names[0]) == ("FAILED", same_version)
    assert (agent.store.active, agent.store.testing) == ("a", False)
