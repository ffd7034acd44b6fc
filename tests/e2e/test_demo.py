"""`otahub serve --demo` (what `make run` shows) really does its round trip, also on a second start."""

from __future__ import annotations

import time
from pathlib import Path

from tests.harness import OtahubServer


def wait_for(server: OtahubServer, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        joined = "".join(server.output)
        if text in joined:
            return joined
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in:\n" + "".join(server.output))


def test_demo_round_trip_twice_on_one_data_dir(tmp_path: Path) -> None:
    for _ in range(2):
        server = OtahubServer(tmp_path / "data", extra_args=["--demo"]).start()
        try:
            output = wait_for(server, "the server keeps running")
            assert "demo-fleet holds ['demo-device-0', 'demo-device-1', 'demo-device-2']" in output
            assert ": CREATE_COMPLETE, job AFR_OTA-demo-" in output and "signature verified" in output
            for n in range(3):
                assert f"demo-device-{n}: got AFR_OTA-demo-" in output
            assert "COMPLETED, 3 of 3 things succeeded" in output
            iot = server.client("iot")
            jobs = iot.list_jobs(status="COMPLETED", thingGroupName="demo-fleet")["jobs"]
            assert all(j["jobId"].startswith("AFR_OTA-demo-") for j in jobs) and jobs
        finally:
            server.stop()
