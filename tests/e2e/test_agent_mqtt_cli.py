"""`otahub agent --mqtt` over TLS with a certificate from CreateKeysAndCertificate: the reference agent takes
its OTA job on the jobs topics, fetches the image over the MQTT stream, installs it and reports SUCCEEDED."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otahub.device.slots import SlotStore
from otahub.device.status import AppVersion
from tests.e2e.jobs_helpers import fleet
from tests.e2e.test_agent import Signer, certs_dir, execution_on_server
from tests.e2e.test_mqtt_devices import certificate_for
from tests.e2e.test_mqtt_fleet import FIRMWARE, mqtt_ota_update
from tests.e2e.test_ota_updates import signer
from tests.harness import OtahubServer

__all__ = ["signer"]  # fixture


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-agent-mqtts"), extra_args=["--mqtt-port", "0"]).start()
    yield instance
    instance.stop()


def test_the_agent_cli_over_mqtt_tls(tls_server: OtahubServer, signer: Signer, tmp_path: Path) -> None:
    iot = tls_server.client("iot")
    group, (thing,) = fleet(iot, "agentmqtts", 1)
    job_id = mqtt_ota_update(tls_server, iot, "agentmqtts", group, signer, ["MQTT"])  # no HTTP URL to fall back on
    _, cert_file, key_file = certificate_for(iot, thing, tmp_path)
    slots = tmp_path / "slots"
    command = [sys.executable, "-m", "otahub.cli.agent", "--thing", thing,
               "--mqtt", f"localhost:{tls_server.mqtts_port}", "--cert", str(cert_file), "--key", str(key_file),
               "--ca", tls_server.device_ca, "--slots", str(slots), "--signer-certs", str(certs_dir(tmp_path, signer)),
               "--once", "--version", "1.0.0", "--image-version", "1.1.0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{job_id}: SUCCEEDED reason='accepted  v1.1.0'" in done.stdout
    assert execution_on_server(iot, job_id, thing) == (
        "SUCCEEDED", {"reason": "accepted  v1.1.0", "updatedBy": "  v1.0.0"})
    store = SlotStore.open(slots, AppVersion(1, 0, 0))
    assert (store.active, store.version()) == ("b", AppVersion(1, 1, 0))
    assert store.active_image().read_bytes() == FIRMWARE
