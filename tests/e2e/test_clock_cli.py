"""`otahub clock advance/now` against `serve --virtual-clock`, signed with the AWS credential chain."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Any

from tests.e2e.jobs_helpers import DOC, fleet, status_counts, viot, vserver
from tests.harness import OtahubServer

__all__ = ["viot", "vserver"]  # fixtures


def otahub_clock(server: OtahubServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otahub", "clock", *args, "--endpoint", server.endpoint],
                          capture_output=True, text=True, env={**server.aws_env(), **env}, timeout=60)


def test_clock_advance_moves_a_rollout_on(vserver: OtahubServer, viot: Any, unique: str) -> None:
    group, _ = fleet(viot, f"clk-{unique}", 5)
    viot.create_job(jobId=f"clk-{unique}", targets=[group], document=DOC,
                    jobExecutionsRolloutConfig={"maximumPerMinute": 1})
    before = otahub_clock(vserver, "now")
    assert before.returncode == 0, before.stderr
    advanced = otahub_clock(vserver, "advance", "180")
    assert advanced.returncode == 0, advanced.stderr
    moved = datetime.fromisoformat(advanced.stdout.strip()) - datetime.fromisoformat(before.stdout.strip())
    assert moved.total_seconds() >= 180
    assert sum(status_counts(viot, f"clk-{unique}").values()) == 4  # 1 at creation, then 1 a minute


def test_clock_refuses_wrong_credentials(vserver: OtahubServer) -> None:
    refused = otahub_clock(vserver, "advance", "60", AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert refused.returncode != 0
    assert "refused" in refused.stderr and "403" in refused.stderr
