"""Settings: one dataclass, built by the CLI from flags and OTAHUB_* variables, passed in, never global."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 4680


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    region: str = "us-east-1"
    account_id: str = "123456789012"
    database_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    sqlite_synchronous: str = "FULL"
    clock_control: bool = False  # expose POST /_otahub/clock to move server time on (tests, demos)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'otahub.db').resolve()}"
