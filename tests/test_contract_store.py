"""contract/store.py: KAPIKO_STORE names a bucket and a prefix, or nothing (the local folder)."""

from __future__ import annotations

import pytest

from contract.store import S3Store, StoreError, parse_store


@pytest.mark.parametrize(
    ("text", "store"),
    [
        ("", None),
        ("  ", None),
        ("s3://kapiko-data", S3Store("kapiko-data", "")),
        ("s3://kapiko-data/", S3Store("kapiko-data", "")),
        ("s3://kapiko-data/prod", S3Store("kapiko-data", "prod")),
        ("s3://kapiko.data/prod/eu/", S3Store("kapiko.data", "prod/eu")),
    ],
)
def test_a_store_location_names_a_bucket_and_a_prefix(text: str, store: S3Store | None) -> None:
    assert parse_store(text) == store


@pytest.mark.parametrize(
    "text",
    ["kapiko-data/prod", "s3:/kapiko-data", "https://kapiko-data", "s3://Kapiko", "s3://k",
     "s3://kapiko-data/a//b", "s3://kapiko-data/../b", "data/curated"],
)  # fmt: skip
def test_a_malformed_store_location_names_the_variable_and_the_form(text: str) -> None:
    with pytest.raises(StoreError, match=r"KAPIKO_STORE=.* expected s3://<bucket>\[/<prefix>\]"):
        parse_store(text)


def test_keys_and_urls_sit_under_the_prefix() -> None:
    assert (
        S3Store("b", "p/q").key("versions", "v1", "tracks.parquet")
        == "p/q/versions/v1/tracks.parquet"
    )
    assert S3Store("b", "").key("current.json") == "current.json"
    assert S3Store("b", "p").url("current.json") == "s3://b/p/current.json"
