"""Registry queries at fleet scale: 100k things, groups with 10k members, through the real pipeline.

One command: ``.venv/bin/python bench/bench_scale.py [--things 100000]``. Things are bulk-loaded
through the storage layer (one transaction per 2,000), then each query is sent as a botocore-signed
request to ``AwsPipeline.handle`` in-process, so the figures are server-side only (no HTTP, no client).
It prints per-query latency (median of repeats) and the time per page when walking the whole fleet,
first and last pages compared: keyset pagination should keep them flat.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.awsrequest import AWSResponse

from otahub.app import build_app
from otahub.aws.messages import AwsRequest
from otahub.aws.pipeline import AwsPipeline
from otahub.domain.ids import new_uuid
from otahub.domain.things import Thing, ThingGroup
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory

KEY, SECRET = "AKIASCALEBENCH000000", "scale-bench-secret"


class _Body:
    def stream(self, **_: Any) -> Any:
        yield b"{}"


def request_builder(endpoint: str) -> Callable[..., AwsRequest]:
    """Have botocore build and sign a request, capture it before it is sent."""
    client = botocore.session.get_session().create_client(
        "iot", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key=SECRET
    )
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {}, _Body())

    client.meta.events.register_first("before-send.iot.*", capture)

    def build(operation: str, **params: Any) -> AwsRequest:
        getattr(client, operation)(**params)
        sent = captured.pop()
        url = urlsplit(sent.url)
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in sent.headers.items()}
        return AwsRequest(sent.method, url.path, url.query, headers | {"host": url.netloc}, sent.body or b"")

    return build


def load_fleet(uow: SqlUnitOfWorkFactory, count: int) -> None:
    now = datetime.now(UTC)
    with uow(write=True) as tx:
        tx.thing_groups.add(ThingGroup("fleet", new_uuid(), None, {}, 1, now))
        for region in range(10):
            tx.thing_groups.add(ThingGroup(f"region-{region}", new_uuid(), None, {}, 1, now, ("fleet",)))
    for start in range(0, count, 2000):
        with uow(write=True) as tx:
            for n in range(start, min(start + 2000, count)):
                attrs = {"model": f"m{n % 7}", "serial": f"{n:08d}"}
                if n % 10_000 == 0:
                    attrs["canary"] = "yes"
                tx.things.add(Thing(f"dev-{n:06d}", new_uuid(), None, attrs, 1, now))
                if n % 10 == 0:
                    tx.thing_groups.add_member(f"region-{(n // 10) % 10}", f"dev-{n:06d}")


def timed(pipeline: AwsPipeline, request: AwsRequest, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = pipeline.handle(request)
        samples.append(time.perf_counter() - started)
        assert response.status == 200, response.body[:300]
    return statistics.median(samples) * 1000


def walk_all(pipeline: AwsPipeline, build: Callable[..., AwsRequest]) -> tuple[int, list[float]]:
    import json

    token, seen, page_ms = None, 0, []
    while True:
        params: dict[str, Any] = {"maxResults": 250} | ({"nextToken": token} if token else {})
        started = time.perf_counter()
        body = json.loads(pipeline.handle(build("list_things", **params)).body)
        page_ms.append((time.perf_counter() - started) * 1000)
        seen += len(body["things"])
        token = body.get("nextToken")
        if not token:
            return seen, page_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--things", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    from otahub.config import Settings

    app = build_app(Settings(data_dir=Path(tempfile.mkdtemp()), access_key_id=KEY, secret_access_key=SECRET))
    pipeline = app.asgi.pipeline
    started = time.perf_counter()
    load_fleet(SqlUnitOfWorkFactory(app.engine), args.things)
    print(f"loaded {args.things} things in {time.perf_counter() - started:.1f} s")
    build = request_builder("http://127.0.0.1:4680")
    last = f"dev-{args.things - 1:06d}"
    queries = {
        "describe_thing (last inserted)": build("describe_thing", thingName=last),
        "list_things attribute=rare (canary)": build("list_things", attributeName="canary", attributeValue="yes"),
        "list_things attribute prefix serial=0009": build(
            "list_things", attributeName="serial", attributeValue="0009", usePrefixAttributeValue=True),
        "list_things_in_thing_group region-3 (1/100 of fleet)": build(
            "list_things_in_thing_group", thingGroupName="region-3", maxResults=250),
        "list_things_in_thing_group fleet recursive": build(
            "list_things_in_thing_group", thingGroupName="fleet", recursive=True, maxResults=250),
        "list_thing_groups_for_thing": build("list_thing_groups_for_thing", thingName="dev-000030"),
    }
    print(f"| query ({args.things} things) | median ms |\n|---|---|")
    for label, request in queries.items():
        print(f"| {label} | {timed(pipeline, request, args.repeats):.2f} |")
    seen, page_ms = walk_all(pipeline, build)
    assert seen == args.things, seen
    print(f"\nwalked {seen} things in {len(page_ms)} pages of 250: first 10 pages median "
          f"{statistics.median(page_ms[:10]):.2f} ms, last 10 pages median {statistics.median(page_ms[-10:]):.2f} ms")


if __name__ == "__main__":
    main()
