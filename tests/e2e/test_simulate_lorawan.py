"""`otahub simulate-lorawan` stages a FUOTA session with boto3 on an in-process server and reports it."""

from __future__ import annotations

import re
import subprocess
import sys


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "otahub", "simulate-lorawan", *args], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def counts(out: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r"^  (\w+)\s+(\d+)$", out, re.MULTILINE)}


def test_a_multicast_session_with_faults_reports_every_device() -> None:
    out = run("--devices", "12", "--loss", "0", "--faults", "--image-kib", "4")
    assert "FuotaDone (multicast DR5, EU868" in out
    # no loss: every device rebuilds the image, except those staged with a fault (a v1 device is served v1)
    assert counts(out) == {"MICError": 1, "Not_enough_memory": 1, "Successful": 10}


def test_unicast_devices_at_total_loss_miss_fragments() -> None:
    out = run("--devices", "3", "--loss", "1", "--unicast", "--image-kib", "1")
    assert "FuotaDone (unicast, EU868" in out
    assert counts(out) == {"MissingFrag": 3}
