"""Mosquitto's command-line clients (Debian's mosquitto-clients, which `make test` installs) against otahub's
own MQTT endpoint: ordinary publish/subscribe, a jobs request answered by otahub (mosquitto_rr, MQTT 5 and
3.1.1), notify-next pushed to mosquitto_sub, and another thing's reserved topics refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.e2e.jobs_helpers import fleet
from tests.harness import OtahubServer

WAIT = "10"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: `make test` installs mosquitto-clients")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-mosquitto-clients"),
                            extra_args=["--mqtt-plain-port", "0"]).start()
    yield instance
    instance.stop()


def subscriber(server: OtahubServer, client_id: str, topic: str, count: int = 1) -> subprocess.Popen[str]:
    process = subprocess.Popen([tool("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(server.mqtt_port),
                                "-i", client_id, "-t", topic, "-C", str(count), "-W", WAIT, "-v"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # subscribed before anything is published
    return process


def test_mosquitto_pub_and_sub_exchange_ordinary_messages(server: OtahubServer) -> None:
    sub = subscriber(server, "reader", "sensors/+/temperature")
    done = subprocess.run([tool("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(server.mqtt_port), "-i", "writer",
                           "-t", "sensors/s1/temperature", "-m", "21.5", "-q", "1"],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    out, err = sub.communicate(timeout=20)
    assert sub.returncode == 0, err
    assert out.strip() == "sensors/s1/temperature 21.5"


@pytest.mark.parametrize("version", ["mqttv5", "mqttv311"])
def test_mosquitto_rr_gets_a_jobs_answer_from_otahub(server: OtahubServer, version: str) -> None:
    iot = server.client("iot")
    _, (thing,) = fleet(iot, f"rr-{version}", 1)
    iot.create_job(jobId=f"rr-{version}", targets=[iot.describe_thing(thingName=thing)["thingArn"]],
                   document='{"step": "blink"}')
    prefix = f"$aws/things/{thing}/jobs"
    done = subprocess.run([tool("mosquitto_rr"), "-h", "127.0.0.1", "-p", str(server.mqtt_port), "-i", thing,
                           "-V", version, "-t", f"{prefix}/start-next", "-e", f"{prefix}/start-next/accepted",
                           "-m", json.dumps({"clientToken": "rr-1", "statusDetails": {"by": "mosquitto_rr"}}),
                           "-W", WAIT], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["clientToken"] == "rr-1"
    assert (reply["execution"]["jobId"], reply["execution"]["status"]) == (f"rr-{version}", "IN_PROGRESS")
    assert reply["execution"]["jobDocument"] == {"step": "blink"}
    execution = iot.describe_job_execution(jobId=f"rr-{version}", thingName=thing)["execution"]
    assert execution["statusDetails"]["detailsMap"] == {"by": "mosquitto_rr"}


def test_mosquitto_sub_hears_notify_next(server: OtahubServer) -> None:
    iot = server.client("iot")
    _, (thing,) = fleet(iot, "subnotify", 1)
    sub = subscriber(server, thing, f"$aws/things/{thing}/jobs/notify-next")
    iot.create_job(jobId="subnotify", targets=[iot.describe_thing(thingName=thing)["thingArn"]], document="{}")
    out, err = sub.communicate(timeout=20)
    assert sub.returncode == 0, err
    topic, _, payload = out.strip().partition(" ")
    assert topic == f"$aws/things/{thing}/jobs/notify-next"
    assert json.loads(payload)["execution"]["jobId"] == "subnotify"


def test_mosquitto_sub_may_not_listen_to_another_things_jobs(server: OtahubServer) -> None:
    iot = server.client("iot")
    _, (mine, other) = fleet(iot, "subspy", 2)
    done = subprocess.run([tool("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(server.mqtt_port), "-i", mine,
                           "-t", f"$aws/things/{other}/jobs/notify-next", "-C", "1", "-W", "3", "-V", "mqttv5"],
                          capture_output=True, text=True, timeout=20)
    assert done.stdout == ""
    assert "All subscription requests were denied." in done.stderr  # SUBACK 0x87 (not authorized)
