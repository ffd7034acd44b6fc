"""The simulated fleet against a real otahub: an OTA update to COMPLETED with the mix's failures, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from otahub.device.fleet import Fate, Fleet, HttpAccess, Mix
from tests.e2e.jobs_helpers import ARN, fleet, viot, vserver
from tests.e2e.test_agent import FIRMWARE, Signer, certs_dir, execution_on_server
from tests.e2e.test_ota_updates import ROLE, signer
from tests.e2e.test_s3 import s3_client
from tests.harness import REGION, OtahubServer

__all__ = ["signer", "viot", "vserver"]  # fixtures
FAILED_SELF_TEST = {"reason": "rejected: 0x00000000"}
SAME_VERSION = {"reason": "rejected: 0x00000010"}  # OtaErrSameFirmwareVersion
ACCEPTED = {"reason": "accepted  v1.0.1", "updatedBy": "  v1.0.0"}


def ota_update(server: OtahubServer, iot: Any, name: str, group_arn: str, signer: Signer, **extra: Any) -> str:
    """FIRMWARE in otahub's S3, signed, rolled out over HTTP to the group; returns the job id."""
    s3 = s3_client(server)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="fw.bin", Body=FIRMWARE)
    key, cert = signer
    iot.create_ota_update(
        otaUpdateId=name, targets=[group_arn], protocols=["HTTP"], roleArn=ROLE,
        files=[{"fileName": "firmware.bin", "fileLocation": {"s3Location": {"bucket": name, "key": "fw.bin"}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "signer.crt", "inlineDocument": cert},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}],
        **extra,
    )
    assert iot.get_ota_update(otaUpdateId=name)["otaUpdateInfo"]["otaUpdateStatus"] == "CREATE_COMPLETE"
    return f"AFR_OTA-{name}"


def test_a_fleet_with_failures_completes_the_job(vserver: OtahubServer, viot: Any, signer: Signer,
                                                 tmp_path: Path) -> None:
    group, names = fleet(viot, "fleet", 12)  # fixed names: the mix's choice is fixed too
    mix = Mix(failure_rate=0.25, reject_rate=0.0, latency_ms=(0, 5), seed=0)
    chosen = [name for name in names if mix.plan(name).fate is Fate.FAIL]
    assert len(chosen) == 3  # seed 0 over these names
    job_id = ota_update(vserver, viot, "fleet-fw", group, signer)
    access = HttpAccess(vserver.endpoint, REGION, vserver.access_key_id, vserver.secret_access_key)
    devices = Fleet(names, tmp_path / "fleet", certs_dir(tmp_path, signer), mix, http=access, block_size=8 * 1024)
    summary = devices.run_sync(rounds=3, poll_seconds=0.1)

    assert summary.counts == {"FAILED": 3, "SUCCEEDED": 9}
    assert [result.thing for result in summary.results if result.status == "FAILED"] == chosen
    assert {(r.job_id, r.rounds) for r in summary.results} == {(job_id, 1)}
    job = viot.describe_job(jobId=job_id)["job"]
    details = job["jobProcessDetails"]
    assert job["status"] == "COMPLETED"
    assert details["numberOfSucceededThings"] + details["numberOfFailedThings"] == 12
    assert details["numberOfFailedThings"] == len(chosen)
    for name in names:
        expected = ("FAILED", FAILED_SELF_TEST) if name in chosen else ("SUCCEEDED", ACCEPTED)
        assert execution_on_server(viot, job_id, name) == expected

    again = devices.run_sync(rounds=2, poll_seconds=0)  # every device is done: no job, the slots as they were left
    assert again.counts == {"NO_JOB": 12}


def test_the_cli_creates_things_and_runs_them(vserver: OtahubServer, viot: Any, signer: Signer,
                                              tmp_path: Path) -> None:
    viot.create_thing_group(thingGroupName="simcli")
    job_id = ota_update(vserver, viot, "simcli-fw", ARN.format("thinggroup", "simcli"), signer,
                        targetSelection="CONTINUOUS")  # things that join the group later get the job
    command = [sys.executable, "-m", "otahub.cli.simulate", "--devices", "3", "--prefix", "simcli",
               "--endpoint", vserver.endpoint, "--create-things", "--signer-certs", str(certs_dir(tmp_path, signer)),
               "--work-dir", str(tmp_path / "work"), "--failure-rate", "0.34", "--reject-rate", "0.33",
               "--latency-ms", "0-3", "--seed", "2", "--rounds", "3", "--poll-seconds", "0.1"]
    done = subprocess.run(command, env=vserver.aws_env(), capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    mix = Mix(0.34, 0.33, (0, 3), 2)
    names = ["simcli-0000", "simcli-0001", "simcli-0002"]
    assert [mix.plan(name).fate for name in names] == [Fate.REJECT, Fate.FAIL, Fate.SUCCEED]  # seed 2
    members = viot.list_things_in_thing_group(thingGroupName="simcli")["things"]
    assert sorted(members) == names
    assert execution_on_server(viot, job_id, names[0]) == ("FAILED", SAME_VERSION)
    assert execution_on_server(viot, job_id, names[1]) == ("FAILED", FAILED_SELF_TEST)
    assert execution_on_server(viot, job_id, names[2]) == ("SUCCEEDED", ACCEPTED)
    lines = done.stdout.splitlines()
    assert lines[0] == "created 3 things in group simcli"
    assert lines[1].split() == ["THING", "PLAN", "STATUS", "ROUNDS", "REASON"]
    assert lines[2].split() == ["simcli-0000", "reject", "FAILED", "1", "rejected:", "0x00000010"]
    assert lines[3].split() == ["simcli-0001", "fail", "FAILED", "1", "rejected:", "0x00000000"]
    assert lines[4].split() == ["simcli-0002", "succeed", "SUCCEEDED", "1", "accepted", "v1.0.1"]
    assert lines[-1] == "3 devices: FAILED 2  SUCCEEDED 1"
