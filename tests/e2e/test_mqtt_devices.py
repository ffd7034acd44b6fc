"""Devices over otahub's own MQTT endpoint (plain TCP, client id = thing): the AWS IoT Jobs and Streams
topics with paho-mqtt (3.1.1 and 5) and the AWS IoT Device SDK's jobs client, against a real server."""

from __future__ import annotations

import hashlib
import json
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.test_s3 import s3_client
from tests.harness import OtahubServer
from tests.mqtt_inbox import Inbox

ARN = "arn:aws:iot:us-east-1:123456789012:{}/{}"
ROLE = "arn:aws:iam::123456789012:role/ota"
WAIT = 10.0


@pytest.fixture(scope="module")
def mqtt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-mqtt"), virtual_clock=True,
                            extra_args=["--mqtt-plain-port", "0"]).start()
    yield instance
    instance.stop()


class Device:
    """A paho client that is one thing and keeps every message it receives."""

    def __init__(self, server: OtahubServer, thing: str, protocol: int = mqtt.MQTTv311) -> None:
        self.thing = thing
        self.inbox = Inbox(WAIT)
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.disconnected = queue.Queue[int]()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=thing, protocol=protocol)
        self.client.on_message = lambda _c, _u, m: self.inbox.put(m.topic, m.payload)
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: self.subacks.put(list(codes))
        self.client.on_disconnect = lambda _c, _u, _f, code, _p: self.disconnected.put(int(code.value))
        self.client.connect("127.0.0.1", server.mqtt_port, keepalive=30)
        self.client.loop_start()

    def publish(self, suffix: str, body: dict[str, Any] | bytes, qos: int = 1) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(f"$aws/things/{self.thing}/{suffix}", payload, qos=qos)

    def expect(self, suffix: str) -> bytes:
        """The next message on that topic of this thing; messages on other topics wait their turn."""
        return self.inbox.expect(f"$aws/things/{self.thing}/{suffix}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def fleet(iot: Any, prefix: str, n: int) -> tuple[str, list[str]]:
    iot.create_thing_group(thingGroupName=f"{prefix}-group")
    names = [f"{prefix}-{i}" for i in range(n)]
    for name in names:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName=f"{prefix}-group", thingName=name)
    return ARN.format("thinggroup", f"{prefix}-group"), names


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_a_device_runs_its_job_over_mqtt(mqtt_server: OtahubServer, unique: str, protocol: int) -> None:
    iot = mqtt_server.client("iot")
    group, names = fleet(iot, f"mq{protocol}-{unique}", 1)
    job_id = f"mq{protocol}-{unique}"
    iot.create_job(jobId=job_id, targets=[group], document='{"fw": "1.2.0"}')
    device = Device(mqtt_server, names[0], protocol)
    try:
        device.publish("jobs/$next/get", {"clientToken": f"1:{names[0]}"})
        described = json.loads(device.expect("jobs/$next/get/accepted"))
        assert described["clientToken"] == f"1:{names[0]}"
        assert described["execution"]["jobDocument"] == {"fw": "1.2.0"}  # an object over MQTT
        device.publish("jobs/start-next", {"clientToken": "go", "statusDetails": {"receive": "0/1"}})
        started = json.loads(device.expect("jobs/start-next/accepted"))["execution"]
        assert (started["jobId"], started["status"], started["versionNumber"]) == (job_id, "IN_PROGRESS", 2)
        assert isinstance(started["queuedAt"], int)
        device.publish(f"jobs/{job_id}/update", {"status": "SUCCEEDED", "expectedVersion": "2",
                                                 "statusDetails": {"reason": "accepted  v1.2.0"},
                                                 "includeJobExecutionState": True})
        updated = json.loads(device.expect(f"jobs/{job_id}/update/accepted"))
        assert updated["executionState"]["status"] == "SUCCEEDED"
        device.publish(f"jobs/{job_id}/update", {"status": "IN_PROGRESS"})
        refused = json.loads(device.expect(f"jobs/{job_id}/update/rejected"))
        assert refused["code"] == "InvalidStateTransition"
    finally:
        device.close()
    assert iot.describe_job(jobId=job_id)["job"]["status"] == "COMPLETED"


def test_a_device_downloads_its_image_over_mqtt_streams(mqtt_server: OtahubServer, unique: str) -> None:
    iot, s3 = mqtt_server.client("iot"), s3_client(mqtt_server)
    image = bytes(range(256)) * 97 + b"tail"
    s3.create_bucket(Bucket=f"fw-{unique}")
    s3.put_object(Bucket=f"fw-{unique}", Key="fw.bin", Body=image)
    group, names = fleet(iot, f"st-{unique}", 1)
    iot.create_ota_update(otaUpdateId=f"st-{unique}", targets=[group], protocols=["MQTT"], roleArn=ROLE,
                          files=[{"fileName": "fw.bin", "fileLocation": {"s3Location": {"bucket": f"fw-{unique}",
                                                                                        "key": "fw.bin"}}}])
    device = Device(mqtt_server, names[0])
    try:
        device.publish("jobs/start-next", {})
        execution = json.loads(device.expect("jobs/start-next/accepted"))["execution"]
        document = execution["jobDocument"]["afr_ota"]
        stream, size = document["streamname"], document["files"][0]["filesize"]
        block, blocks = 4096, -(-size // 4096)
        received: dict[int, bytes] = {}
        while len(received) < blocks:  # the FreeRTOS agent's request: c, f, l, o, b, n
            bitmap = bytearray((blocks + 7) // 8)
            for index in range(blocks):
                if index not in received:
                    bitmap[index // 8] |= 1 << (index % 8)
            request = cbor2.dumps({"c": "rdy", "f": 0, "l": block, "o": 0, "b": bytes(bitmap), "n": 8})
            device.publish(f"streams/{stream}/get/cbor", request, qos=0)
            for _ in range(min(8, blocks - len(received))):
                reply = cbor2.loads(device.expect(f"streams/{stream}/data/cbor"))
                received[reply["i"]] = reply["p"]
        assembled = b"".join(received[i] for i in range(blocks))
        assert hashlib.sha256(assembled).digest() == hashlib.sha256(image).digest()
    finally:
        device.close()


def test_a_device_reaches_only_its_own_things(mqtt_server: OtahubServer, unique: str) -> None:
    iot = mqtt_server.client("iot")
    _, names = fleet(iot, f"sec-{unique}", 2)
    device = Device(mqtt_server, names[0])
    try:
        device.client.subscribe([(f"$aws/things/{names[1]}/jobs/notify", 1),
                                 (f"$aws/things/{names[0]}/jobs/notify", 1)])
        granted = device.subacks.get(timeout=WAIT)
        assert [getattr(code, "value", code) for code in granted] == [0x80, 1]
        device.publish("jobs/get", {})
        assert json.loads(device.expect("jobs/get/accepted"))["queuedJobs"] == []
        device.client.publish(f"$aws/things/{names[1]}/jobs/start-next", b"{}", qos=1)
        assert device.disconnected.get(timeout=WAIT) != 0  # a 3.1.1 client is disconnected
    finally:
        device.client.loop_stop()


def test_ordinary_topics_pass_between_clients(mqtt_server: OtahubServer, unique: str) -> None:
    listener, talker = Device(mqtt_server, f"l-{unique}"), Device(mqtt_server, f"t-{unique}")
    try:
        listener.client.subscribe(f"lab/{unique}/+", qos=1)
        listener.subacks.get(timeout=WAIT)
        talker.client.publish(f"lab/{unique}/temperature", b"21.5", qos=1)
        assert listener.inbox.expect(f"lab/{unique}/temperature") == b"21.5"
    finally:
        listener.close()
        talker.close()


def test_the_aws_iot_device_sdk_jobs_client(mqtt_server: OtahubServer, unique: str, tmp_path: Path) -> None:
    """awsiotsdk's IotJobsClient (v1, MQTT 3.1.1 over plain TCP) takes and finishes a job."""
    from awscrt import io as crt_io
    from awscrt import mqtt as crt_mqtt
    from awsiot import iotjobs

    iot = mqtt_server.client("iot")
    group, names = fleet(iot, f"sdk-{unique}", 1)
    thing = names[0]
    iot.create_job(jobId=f"sdk-{unique}", targets=[group], document='{"op": "reboot"}')
    bootstrap = crt_io.ClientBootstrap(crt_io.EventLoopGroup(1), crt_io.DefaultHostResolver(crt_io.EventLoopGroup(1)))
    connection = crt_mqtt.Connection(client=crt_mqtt.Client(bootstrap, None), host_name="127.0.0.1",
                                     port=mqtt_server.mqtt_port, client_id=thing, keep_alive_secs=30)
    connection.connect().result(WAIT)
    try:
        jobs = iotjobs.IotJobsClient(connection)
        started: queue.Queue[Any] = queue.Queue()
        updated: queue.Queue[Any] = queue.Queue()
        subscribed, _ = jobs.subscribe_to_start_next_pending_job_execution_accepted(
            iotjobs.StartNextPendingJobExecutionSubscriptionRequest(thing_name=thing), crt_mqtt.QoS.AT_LEAST_ONCE,
            started.put)
        subscribed.result(WAIT)
        subscribed, _ = jobs.subscribe_to_update_job_execution_accepted(
            iotjobs.UpdateJobExecutionSubscriptionRequest(thing_name=thing, job_id=f"sdk-{unique}"),
            crt_mqtt.QoS.AT_LEAST_ONCE, updated.put)
        subscribed.result(WAIT)
        jobs.publish_start_next_pending_job_execution(
            iotjobs.StartNextPendingJobExecutionRequest(thing_name=thing), crt_mqtt.QoS.AT_LEAST_ONCE).result(WAIT)
        execution = started.get(timeout=WAIT).execution
        assert (execution.job_id, execution.job_document) == (f"sdk-{unique}", {"op": "reboot"})
        jobs.publish_update_job_execution(iotjobs.UpdateJobExecutionRequest(
            thing_name=thing, job_id=execution.job_id, status=iotjobs.JobStatus.SUCCEEDED,
            expected_version=execution.version_number), crt_mqtt.QoS.AT_LEAST_ONCE).result(WAIT)
        updated.get(timeout=WAIT)
    finally:
        connection.disconnect().result(WAIT)
    assert iot.describe_job(jobId=f"sdk-{unique}")["job"]["status"] == "COMPLETED"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-mqtts"), virtual_clock=True,
                            extra_args=["--mqtt-port", "0"]).start()
    yield instance
    instance.stop()


def certificate_for(iot: Any, thing: str, tmp_path: Path, *, active: bool = True) -> tuple[str, Path, Path]:
    """CreateKeysAndCertificate for a thing, attached; (certificate id, cert file, key file)."""
    made = iot.create_keys_and_certificate(setAsActive=active)
    iot.attach_thing_principal(thingName=thing, principal=made["certificateArn"])
    cert_file, key_file = tmp_path / f"{thing}.crt", tmp_path / f"{thing}.key"
    cert_file.write_text(made["certificatePem"])
    key_file.write_text(made["keyPair"]["PrivateKey"])
    return made["certificateId"], cert_file, key_file


def tls_device(server: OtahubServer, thing: str, cert_file: Path, key_file: Path) -> tuple[Any, queue.Queue[Any]]:
    connected: queue.Queue[Any] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=thing, protocol=mqtt.MQTTv311)
    client.tls_set(ca_certs=server.device_ca, certfile=str(cert_file), keyfile=str(key_file))
    client.on_connect = lambda _c, _u, _f, code, _p: connected.put(code)
    client.connect("localhost", server.mqtts_port, keepalive=30)
    client.loop_start()
    return client, connected


def test_the_sdk_over_tls_with_a_certificate_from_create_keys_and_certificate(tls_server: OtahubServer,
                                                                            unique: str, tmp_path: Path) -> None:
    """awsiotsdk's mTLS connection builder with otahub's CA as root; the jobs client describes $next."""
    from awscrt import mqtt as crt_mqtt
    from awsiot import iotjobs, mqtt_connection_builder

    iot = tls_server.client("iot")
    group, names = fleet(iot, f"tls-{unique}", 1)
    thing = names[0]
    _, cert_file, key_file = certificate_for(iot, thing, tmp_path)
    iot.create_job(jobId=f"tls-{unique}", targets=[group], document='{"op": "update"}')
    connection = mqtt_connection_builder.mtls_from_path(
        endpoint="localhost", port=tls_server.mqtts_port, cert_filepath=str(cert_file),
        pri_key_filepath=str(key_file), ca_filepath=tls_server.device_ca, client_id=thing, clean_session=True,
        keep_alive_secs=30)
    connection.connect().result(WAIT)
    try:
        jobs = iotjobs.IotJobsClient(connection)
        described: queue.Queue[Any] = queue.Queue()
        subscribed, _ = jobs.subscribe_to_describe_job_execution_accepted(
            iotjobs.DescribeJobExecutionSubscriptionRequest(thing_name=thing, job_id="$next"),
            crt_mqtt.QoS.AT_LEAST_ONCE, described.put)
        subscribed.result(WAIT)
        jobs.publish_describe_job_execution(iotjobs.DescribeJobExecutionRequest(thing_name=thing, job_id="$next"),
                                            crt_mqtt.QoS.AT_LEAST_ONCE).result(WAIT)
        assert described.get(timeout=WAIT).execution.job_id == f"tls-{unique}"
    finally:
        connection.disconnect().result(WAIT)


def test_tls_refuses_revoked_and_unattached_certificates(tls_server: OtahubServer, unique: str,
                                                         tmp_path: Path) -> None:
    iot = tls_server.client("iot")
    _, names = fleet(iot, f"rev-{unique}", 1)
    cert_id, cert_file, key_file = certificate_for(iot, names[0], tmp_path)
    client, connected = tls_device(tls_server, names[0], cert_file, key_file)
    assert connected.get(timeout=WAIT) == 0  # ACTIVE and attached: accepted
    client.disconnect()
    client.loop_stop()
    iot.update_certificate(certificateId=cert_id, newStatus="REVOKED")
    client, connected = tls_device(tls_server, names[0], cert_file, key_file)
    try:
        assert connected.get(timeout=WAIT) != 0  # refused at connect
    finally:
        client.loop_stop()
    (tmp_path / "second").mkdir()
    inactive_id, inactive_cert, inactive_key = certificate_for(iot, names[0], tmp_path / "second", active=False)
    client, connected = tls_device(tls_server, names[0], inactive_cert, inactive_key)
    try:
        assert connected.get(timeout=WAIT) != 0
    finally:
        client.loop_stop()
    assert inactive_id != cert_id


def test_notify_next_tells_a_subscribed_device_of_its_jobs(mqtt_server: OtahubServer, unique: str) -> None:
    """The FreeRTOS agent's way: subscribe to notify-next, wait, start what it names; AWS pushes on
    every change of the next execution, for control-plane changes too."""
    iot = mqtt_server.client("iot")
    group, names = fleet(iot, f"nn-{unique}", 1)
    device = Device(mqtt_server, names[0])
    try:
        device.client.subscribe([(f"$aws/things/{names[0]}/jobs/notify-next", 1),
                                 (f"$aws/things/{names[0]}/jobs/notify", 1)])
        device.subacks.get(timeout=WAIT)
        iot.create_job(jobId=f"nn1-{unique}", targets=[group], document='{"n": 1}')
        pushed = json.loads(device.expect("jobs/notify-next"))
        assert (pushed["execution"]["jobId"], pushed["execution"]["jobDocument"]) == (f"nn1-{unique}", {"n": 1})
        listed = json.loads(device.expect("jobs/notify"))
        assert [j["jobId"] for j in listed["jobs"]["QUEUED"]] == [f"nn1-{unique}"]
        iot.create_job(jobId=f"nn2-{unique}", targets=[group], document='{"n": 2}')
        assert len(json.loads(device.expect("jobs/notify"))["jobs"]["QUEUED"]) == 2  # the next did not change
        device.publish(f"jobs/nn1-{unique}/update", {"status": "SUCCEEDED"})
        assert json.loads(device.expect("jobs/notify-next"))["execution"]["jobId"] == f"nn2-{unique}"
        iot.cancel_job(jobId=f"nn2-{unique}")
        assert "execution" not in json.loads(device.expect("jobs/notify-next"))  # nothing pending any more
    finally:
        device.close()


def test_the_aws_iot_device_sdk_jobs_client_v2_over_mqtt5(mqtt_server: OtahubServer, unique: str) -> None:
    """awsiotsdk's IotJobsClientV2 on an awscrt MQTT 5 client: wildcard reply subscriptions, replies matched
    by the clientToken it generates, and the next-job stream fed by notify-next."""
    import awsiot
    from awscrt import mqtt5, mqtt_request_response
    from awsiot import iotjobs

    iot = mqtt_server.client("iot")
    group, names = fleet(iot, f"v2-{unique}", 1)
    thing = names[0]
    connected: queue.Queue[object] = queue.Queue()
    client = mqtt5.Client(mqtt5.ClientOptions(
        host_name="127.0.0.1", port=mqtt_server.mqtt_port,
        connect_options=mqtt5.ConnectPacket(client_id=thing, keep_alive_interval_sec=30),
        on_lifecycle_event_connection_success_fn=connected.put))
    client.start()
    connected.get(timeout=WAIT)
    try:
        jobs = iotjobs.IotJobsClientV2(client, mqtt_request_response.ClientOptions(
            max_request_response_subscriptions=4, max_streaming_subscriptions=2, operation_timeout_in_seconds=10))
        nexts: queue.Queue[Any] = queue.Queue()
        subscribed: queue.Queue[Any] = queue.Queue()
        stream = jobs.create_next_job_execution_changed_stream(
            iotjobs.NextJobExecutionChangedSubscriptionRequest(thing_name=thing),
            awsiot.ServiceStreamOptions(incoming_event_listener=nexts.put, subscription_status_listener=subscribed.put))
        stream.open()
        subscribed.get(timeout=WAIT)  # the stream's subscription is in place before the job comes
        iot.create_job(jobId=f"v2-{unique}", targets=[group], document='{"op": "v2"}')
        pushed = nexts.get(timeout=WAIT)
        assert pushed.execution.job_id == f"v2-{unique}"
        started = jobs.start_next_pending_job_execution(
            iotjobs.StartNextPendingJobExecutionRequest(thing_name=thing)).result(WAIT)
        assert (started.execution.job_id, started.execution.job_document) == (f"v2-{unique}", {"op": "v2"})
        jobs.update_job_execution(iotjobs.UpdateJobExecutionRequest(
            thing_name=thing, job_id=f"v2-{unique}", status=iotjobs.JobStatus.SUCCEEDED)).result(WAIT)
    finally:
        client.stop()
    assert iot.describe_job(jobId=f"v2-{unique}")["job"]["status"] == "COMPLETED"
