"""`otahub serve --demo` (what `make run` shows) really does its round trip, also on a second start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


def test_otahub_demo_rolls_out_to_a_simulated_fleet_and_ends_with_a_summary(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "otahub", "demo", "--devices", "16", "--minute-seconds", "0.5",
               "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "160"})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "OTA update demo-1-0-1: CREATE_COMPLETE, job AFR_OTA-demo-1-0-1" in out
    assert "job AFR_OTA-demo-1-0-1: COMPLETED" in out and "(16 of 16 devices reported an outcome)" in out
    rows = dict(re.findall(r"(SUCCEEDED|FAILED)\s*│\s*(\d+)", out))
    assert int(rows.get("SUCCEEDED", 0)) + int(rows.get("FAILED", 0)) == 16 and int(rows["SUCCEEDED"]) > 0
    assert "accepted  v1.0.1" in out
    resumed = re.search(r"resumed after a lost connection: (\d+)", out)
    assert resumed is not None and int(resumed.group(1)) > 0  # the default drop rate is 0.2
    assert (tmp_path / "data" / "otahub.sqlite3").exists() or any((tmp_path / "data").iterdir())
