"""Blob store settings: the flags and OTAHUB_* variables, and combinations refused at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from otahub.cli.main import main
from otahub.config import Settings, SettingsError

S3 = {"blob_store": "s3", "blob_s3_bucket": "firmware"}


def test_defaults_keep_blobs_local_and_downloads_proxied(tmp_path: Path) -> None:
    settings = Settings(tmp_path)
    assert (settings.blob_store, settings.device_downloads) == ("local", "proxy")


def test_s3_with_direct_downloads_is_accepted(tmp_path: Path) -> None:
    settings = Settings(tmp_path, blob_s3_endpoint_url="http://127.0.0.1:9000", device_downloads="direct", **S3)
    assert settings.blob_s3_bucket == "firmware"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"blob_store": "s3"}, "needs --blob-s3-bucket"),
        ({"blob_store": "gcs"}, "--blob-store must be one of local, s3"),
        ({**S3, "blob_s3_access_key_id": "AKIA"}, "go together"),
        ({**S3, "blob_s3_endpoint_url": "minio:9000"}, "http:// or https://"),
        ({**S3, "blob_s3_addressing_style": "dns"}, "--blob-s3-addressing-style must be one of"),
        ({"device_downloads": "direct"}, "--device-downloads direct needs --blob-store s3"),
        ({"blob_s3_bucket": "firmware"}, "--blob-store is local"),
    ],
)
def test_unworkable_combinations_are_refused(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(tmp_path, **fields)


def test_serve_help_shows_the_blob_options_and_their_variables() -> None:
    output = CliRunner().invoke(main, ["serve", "--help"]).output.replace("\n", " ").replace("  ", "")
    for option in ("--blob-store", "--blob-s3-bucket", "--blob-s3-prefix", "--blob-s3-endpoint-url",
                   "--blob-s3-region", "--blob-s3-access-key-id", "--blob-s3-secret-access-key",
                   "--blob-s3-addressing-style", "--device-downloads"):
        assert option in output
        assert "OTAHUB_" + option[2:].upper().replace("-", "_") in output


def test_serve_refuses_s3_without_a_bucket_before_starting(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "data")],
                                env={"OTAHUB_BLOB_STORE": "s3"})
    assert result.exit_code == 2
    assert "--blob-store s3 needs --blob-s3-bucket" in result.output
    assert not (tmp_path / "data").exists()
