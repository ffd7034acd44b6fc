"""Managed-thing devices over otahub's MQTT endpoint (plain TCP, client id = managed thing Id): a continuous OTA
task reaches a device that connects, subscribes to notify-next and waits, the way a device SDK's jobs handler
does, and one created later that matches the query; both install and report, as with any job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.managed_helpers import managed_thing, task_executions
from tests.e2e.test_mqtt_devices import WAIT, Device
from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer


@pytest.fixture(scope="module")
def mqtt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-mi-mqtt"), virtual_clock=True,
                            extra_args=["--mqtt-plain-port", "0"]).start()
    yield instance
    instance.stop()


def _run(device: Device, task_id: str) -> dict[str, Any]:
    device.publish("jobs/start-next", {"clientToken": "go"})
    execution = json.loads(device.expect("jobs/start-next/accepted"))["execution"]
    assert execution["jobId"] == task_id
    device.publish(f"jobs/{task_id}/update", {"status": "SUCCEEDED", "statusDetails": {"installed": "2.0.0"}})
    json.loads(device.expect(f"jobs/{task_id}/update/accepted"))
    return dict(execution["jobDocument"])


def test_managed_thing_devices_take_a_continuous_task_over_mqtt(mqtt_server: OtahubServer, unique: str) -> None:
    mi, s3 = mqtt_server.client("iot-managed-integrations"), s3_client(mqtt_server)
    s3.create_bucket(Bucket=f"mi-{unique}")
    s3.put_object(Bucket=f"mi-{unique}", Key="job.json", Body=b'{"version": "2.0.0"}')
    first = managed_thing(mi, Model=f"M{unique}")
    device = Device(mqtt_server, first)  # the device's client id is its managed thing Id
    try:
        device.client.subscribe([(f"$aws/things/{first}/jobs/notify-next", 1)])
        device.subacks.get(timeout=WAIT)
        task_id = mi.create_ota_task(S3Url=f"s3://mi-{unique}/job.json", OtaType="CONTINUOUS",
                                     OtaTargetQueryString=f"Model:M{unique}")["TaskId"]
        pushed = json.loads(device.expect("jobs/notify-next"))
        assert pushed["execution"]["jobId"] == task_id
        assert _run(device, task_id) == {"version": "2.0.0"}
    finally:
        device.close()
    later = managed_thing(mi, Model=f"M{unique}")  # joins the task as it is created
    device = Device(mqtt_server, later)
    try:
        _run(device, task_id)
    finally:
        device.close()
    assert {thing: s["Status"] for thing, s in task_executions(mi, task_id).items()} == {
        first: "SUCCEEDED", later: "SUCCEEDED"}
    assert mi.get_ota_task(Identifier=task_id)["TaskProcessingDetails"]["numberOfSucceededThings"] == 2
