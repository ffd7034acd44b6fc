from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import OtahubServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OtahubServer]:
    """One otahub per test worker; tests use unique names so they don't see each other."""
    instance = OtahubServer(tmp_path_factory.mktemp("otahub-data")).start()
    yield instance
    instance.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[OtahubServer]:
    """A server of the test's own, for restarts, crashes and clock moves."""
    instance = OtahubServer(tmp_path / "data").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def iot(server: OtahubServer) -> Any:
    return server.client("iot")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]
