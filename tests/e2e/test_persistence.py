"""Durability: acknowledged writes survive restarts and kill -9; credentials are kept; failures write nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.harness import OtahubServer


def test_restart_keeps_data_and_generated_credentials(tmp_path: Path) -> None:
    first = OtahubServer(tmp_path / "data").start()
    try:
        iot = first.client("iot")
        iot.create_thing_group(thingGroupName="fleet", tags=[{"Key": "k", "Value": "v"}])
        iot.create_thing(thingName="dev-1", attributePayload={"attributes": {"fw": "1.0"}})
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="dev-1")
        keys = (first.access_key_id, first.secret_access_key)
    finally:
        first.stop()
    second = OtahubServer(tmp_path / "data").start()
    try:
        assert (second.access_key_id, second.secret_access_key) == keys
        iot = second.client("iot")
        assert iot.describe_thing(thingName="dev-1")["attributes"] == {"fw": "1.0"}
        assert iot.list_things_in_thing_group(thingGroupName="fleet")["things"] == ["dev-1"]
        arn = iot.describe_thing_group(thingGroupName="fleet")["thingGroupArn"]
        assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "k", "Value": "v"}]
    finally:
        second.stop()


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = OtahubServer(tmp_path / "data").start()
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        iot = server.client("iot")
        n = 0
        while not stop.is_set():
            name = f"w{worker}-{n}"
            try:
                iot.create_thing(thingName=name)
            except Exception:  # the server died under us: this one was never acknowledged
                return
            acknowledged.append(name)
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 60:
        threading.Event().wait(0.01)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()

    restarted = OtahubServer(tmp_path / "data").start()
    try:
        iot = restarted.client("iot")
        stored = set()
        token = None
        while True:
            page = iot.list_things(maxResults=250, **({"nextToken": token} if token else {}))
            stored.update(t["thingName"] for t in page["things"])
            token = page.get("nextToken")
            if not token:
                break
        assert set(acknowledged) <= stored
        iot.create_thing(thingName="after-crash")
    finally:
        restarted.stop()


def test_environment_key_pair_is_accepted(tmp_path: Path) -> None:
    server = OtahubServer(tmp_path / "data", env={
        "OTAHUB_ACCESS_KEY_ID": "AKIAOTAHUBTESTKEY001", "OTAHUB_SECRET_ACCESS_KEY": "s3cret-from-env",
    }).start()
    try:
        assert server.access_key_id == "AKIAOTAHUBTESTKEY001"
        assert server.client("iot").list_things()["things"] == []
        with pytest.raises(ClientError):
            server.client("iot", secret="wrong").list_things()
    finally:
        server.stop()


def test_concurrent_creates_of_one_name_give_one_thing(server: OtahubServer, unique: str) -> None:
    results: list[Any] = []

    def create(value: str) -> None:
        try:
            results.append(server.client("iot").create_thing(
                thingName=f"race-{unique}", attributePayload={"attributes": {"v": value}})["thingId"])
        except ClientError as error:
            results.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=create, args=(str(n),)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r for r in results if r != "ResourceAlreadyExistsException"]
    assert len(ids) == 1, results
    assert len(results) == 6
