"""The AWS CLI v1 (from PyPI, run as a subprocess) against otahub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness import OtahubServer

AWS = str(Path(sys.executable).parent / "aws")


def aws(server: OtahubServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AWS, *args, "--endpoint-url", server.endpoint, "--output", "json"],
        capture_output=True, text=True, env=server.aws_env(), timeout=60,
    )


def ok(server: OtahubServer, *args: str) -> Any:
    result = aws(server, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_cli_thing_lifecycle(server: OtahubServer, unique: str) -> None:
    ok(server, "iot", "create-thing-type", "--thing-type-name", f"board-{unique}",
       "--thing-type-properties", "thingTypeDescription=rev B,searchableAttributes=model")
    created = ok(server, "iot", "create-thing", "--thing-name", f"dev-{unique}", "--thing-type-name",
                 f"board-{unique}", "--attribute-payload", '{"attributes": {"model": "m1"}}')
    assert created["thingArn"].endswith(f":thing/dev-{unique}")
    ok(server, "iot", "update-thing", "--thing-name", f"dev-{unique}", "--attribute-payload",
       '{"attributes": {"site": "lab"}, "merge": true}', "--expected-version", "1")
    described = ok(server, "iot", "describe-thing", "--thing-name", f"dev-{unique}")
    assert described["attributes"] == {"model": "m1", "site": "lab"}
    assert described["version"] == 2
    listed = ok(server, "iot", "list-things", "--thing-type-name", f"board-{unique}")
    assert [t["thingName"] for t in listed["things"]] == [f"dev-{unique}"]


def test_cli_groups_and_tags(server: OtahubServer, unique: str) -> None:
    group = ok(server, "iot", "create-thing-group", "--thing-group-name", f"fleet-{unique}",
               "--tags", "Key=env,Value=lab")
    ok(server, "iot", "create-thing", "--thing-name", f"dev-{unique}")
    ok(server, "iot", "add-thing-to-thing-group", "--thing-group-name", f"fleet-{unique}",
       "--thing-name", f"dev-{unique}")
    members = ok(server, "iot", "list-things-in-thing-group", "--thing-group-name", f"fleet-{unique}")
    assert members["things"] == [f"dev-{unique}"]
    tags = ok(server, "iot", "list-tags-for-resource", "--resource-arn", group["thingGroupArn"])
    assert tags["tags"] == [{"Key": "env", "Value": "lab"}]


def test_cli_reports_aws_errors(server: OtahubServer, unique: str) -> None:
    result = aws(server, "iot", "describe-thing", "--thing-name", f"missing-{unique}")
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr
    result = aws(server, "iot", "list-things", "--max-results", "500")
    assert result.returncode != 0
    assert "InvalidRequestException" in result.stderr and "maxResults" in result.stderr


def test_cli_paginates_with_its_own_paginator(server: OtahubServer, unique: str) -> None:
    ok(server, "iot", "create-thing-group", "--thing-group-name", f"pg-{unique}")
    for n in range(5):
        ok(server, "iot", "create-thing-group", "--thing-group-name", f"c{n}-{unique}",
           "--parent-group-name", f"pg-{unique}")
    listed = ok(server, "iot", "list-thing-groups", "--parent-group", f"pg-{unique}", "--page-size", "2")
    assert sorted(g["groupName"] for g in listed["thingGroups"]) == [f"c{n}-{unique}" for n in range(5)]
