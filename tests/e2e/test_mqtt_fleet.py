"""Simulated devices over MQTT, on otahub's own endpoint and through Mosquitto (external broker mode): an OTA
update created with boto3 reaches them by notify-next, they fetch the image over the MQTT stream (some lose
their connection half-way and resume), verify, install and report; the job completes with each device's status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from otahub.device.fleet import Fate, Fleet, HttpAccess, Mix
from otahub.device.mqtt_link import MqttEndpoint
from otahub.device.slots import SlotStore
from tests.e2e.jobs_helpers import fleet
from tests.e2e.test_agent import Signer, certs_dir, execution_on_server
from tests.e2e.test_ota_updates import ROLE, signer
from tests.e2e.test_s3 import s3_client
from tests.harness import REGION, OtahubServer
from tests.mosquitto_harness import Mosquitto

__all__ = ["signer"]  # fixture
FIRMWARE = bytes((i * 31 + i // 977) % 256 for i in range(150 * 1024 + 77))  # 38 blocks of 4 KiB, the last short
ACCEPTED = {"reason": "accepted  v1.0.1", "updatedBy": "  v1.0.0"}
FAILED_SELF_TEST = {"reason": "rejected: 0x00000000"}
SAME_VERSION = {"reason": "rejected: 0x00000010"}
WAIT = 15.0


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OtahubServer, MqttEndpoint]]:
    server = OtahubServer(tmp_path_factory.mktemp("otahub-mqtt-fleet"), extra_args=["--mqtt-plain-port", "0"]).start()
    yield server, MqttEndpoint("127.0.0.1", server.mqtt_port)
    server.stop()


@pytest.fixture(scope="module")
def bridged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OtahubServer, MqttEndpoint]]:
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto-fleet")).start()
    server = OtahubServer(tmp_path_factory.mktemp("otahub-bridged-fleet"),
                          extra_args=["--mqtt-broker-url", f"mqtt://127.0.0.1:{broker.port}",
                                      "--mqtt-share-group", ""]).start()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not any("(external broker) answering" in line for line in server.output):
        time.sleep(0.05)
    yield server, MqttEndpoint("127.0.0.1", broker.port, protocol=5)
    server.stop()
    broker.stop()


def mqtt_ota_update(server: OtahubServer, iot: Any, name: str, group_arn: str, signer: Signer,
                    protocols: list[str], **extra: Any) -> str:
    s3 = s3_client(server)
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="fw.bin", Body=FIRMWARE)
    key, cert = signer
    iot.create_ota_update(
        otaUpdateId=name, targets=[group_arn], protocols=protocols, roleArn=ROLE,
        files=[{"fileName": "firmware.bin", "fileLocation": {"s3Location": {"bucket": name, "key": "fw.bin"}},
                "codeSigning": {"customCodeSigning": {
                    "signature": {"inlineDocument": key.sign(FIRMWARE, ec.ECDSA(hashes.SHA256()))},
                    "certificateChain": {"certificateName": "signer.crt", "inlineDocument": cert},
                    "hashAlgorithm": "SHA256", "signatureAlgorithm": "ECDSA"}}}],
        **extra,
    )
    assert iot.get_ota_update(otaUpdateId=name)["otaUpdateInfo"]["otaUpdateStatus"] == "CREATE_COMPLETE"
    return f"AFR_OTA-{name}"


def run_fleet(server: OtahubServer, endpoint: MqttEndpoint, prefix: str, signer: Signer, tmp_path: Path,
              protocols: list[str], seed: int) -> None:
    iot = server.client("iot")
    group, names = fleet(iot, prefix, 8)
    mix = Mix(failure_rate=0.25, reject_rate=0.125, seed=seed, drop_rate=0.5)
    plans = {name: mix.plan(name) for name in names}
    assert sum(plan.drops for plan in plans.values()) >= 2 and {p.fate for p in plans.values()} == set(Fate)  # seed
    job_id = mqtt_ota_update(server, iot, prefix, group, signer, protocols)
    access = HttpAccess(server.endpoint, REGION, server.access_key_id, server.secret_access_key)
    devices = Fleet(names, tmp_path / "fleet", certs_dir(tmp_path, signer), mix, http=access, mqtt=endpoint,
                    block_size=4096)
    summary = devices.run_sync(rounds=4, poll_seconds=2.0)

    expected = {Fate.SUCCEED: ("SUCCEEDED", ACCEPTED), Fate.FAIL: ("FAILED", FAILED_SELF_TEST),
                Fate.REJECT: ("FAILED", SAME_VERSION)}
    for result in summary.results:
        plan = plans[result.thing]
        assert (result.status, result.job_id) == (expected[plan.fate][0], job_id), result
        assert execution_on_server(iot, job_id, result.thing) == expected[plan.fate]
        streamed = "MQTT" in protocols
        assert result.connects >= (2 if plan.drops and streamed else 1)  # a drop cost a reconnect; it resumed
        store = SlotStore.open(tmp_path / "fleet" / result.thing, devices.version)
        installed = store.image("b").read_bytes()  # the new image went to the other slot, whatever came next
        assert installed == FIRMWARE
    assert iot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_devices_install_over_streams_on_the_embedded_endpoint(embedded: tuple[OtahubServer, MqttEndpoint],
                                                               signer: Signer, tmp_path: Path) -> None:
    server, endpoint = embedded
    run_fleet(server, endpoint, "mqttfleet", signer, tmp_path, ["MQTT"], seed=0)


def test_devices_take_mqtt_jobs_and_http_downloads(embedded: tuple[OtahubServer, MqttEndpoint], signer: Signer,
                                                   tmp_path: Path) -> None:
    server, endpoint = embedded
    run_fleet(server, endpoint, "mqtthttp", signer, tmp_path, ["HTTP"], seed=3)


def test_devices_install_over_streams_through_mosquitto(bridged: tuple[OtahubServer, MqttEndpoint], signer: Signer,
                                                        tmp_path: Path) -> None:
    server, endpoint = bridged
    run_fleet(server, endpoint, "bridgedfleet", signer, tmp_path, ["MQTT", "HTTP"], seed=0)
