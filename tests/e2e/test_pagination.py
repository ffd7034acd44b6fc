"""nextToken / maxResults: pages are stable while items are added, and tokens are checked."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer


def test_paging_while_inserting_sees_every_original_item_once(fresh_server: OtahubServer) -> None:
    iot = fresh_server.client("iot")
    original = [f"orig-{n:03d}" for n in range(45)]
    for name in original:
        iot.create_thing(thingName=name)
    seen: list[str] = []
    token = None
    added = 0
    while True:
        page = iot.list_things(maxResults=7, **({"nextToken": token} if token else {}))
        seen.extend(t["thingName"] for t in page["things"])
        assert len(page["things"]) <= 7
        for _ in range(3):
            iot.create_thing(thingName=f"new-{added:03d}")
            added += 1
        token = page.get("nextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)), "an item was returned twice"
    assert set(original) <= set(seen), "an item present from the start was skipped"
    assert seen[: len(original)] == original


def test_boto3_paginator_walks_all_pages(server: OtahubServer, unique: str) -> None:
    iot = server.client("iot")
    iot.create_thing_group(thingGroupName=f"pg-{unique}")
    names = [f"p{n}-{unique}" for n in range(12)]
    for name in names:
        iot.create_thing(thingName=name)
        iot.add_thing_to_thing_group(thingGroupName=f"pg-{unique}", thingName=name)
    paginator = iot.get_paginator("list_things_in_thing_group")
    pages = list(paginator.paginate(thingGroupName=f"pg-{unique}", PaginationConfig={"PageSize": 5}))
    assert [len(p["things"]) for p in pages] == [5, 5, 2]
    assert [n for p in pages for n in p["things"]] == names


def test_token_from_another_query_or_garbage_is_refused(server: OtahubServer, unique: str) -> None:
    iot: Any = server.client("iot")
    for n in range(3):
        iot.create_thing_type(thingTypeName=f"tt{n}-{unique}")
    token = iot.list_thing_types(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as excinfo:
        iot.list_things(nextToken=token)
    assert error_of(excinfo) == ("InvalidRequestException", 400)
    assert "nextToken" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:
        iot.list_things(nextToken="garbage!!")
    assert error_of(excinfo) == ("InvalidRequestException", 400)
