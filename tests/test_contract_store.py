"""contract/bucket.py: KAPIKO_STORE names a bucket and a prefix, or nothing (the local folder)."""

from __future__ import annotations

import pytest

from contract.bucket import BucketStore, parse_bucket
from contract.store import StoreError


@pytest.mark.parametrize(
    ("text", "store"),
    [
        ("", None),
        ("  ", None),
        ("s3://kapiko-data", ("kapiko-data", "")),
        ("s3://kapiko-data/", ("kapiko-data", "")),
        ("s3://kapiko-data/prod", ("kapiko-data", "prod")),
        ("s3://kapiko.data/prod/eu/", ("kapiko.data", "prod/eu")),
    ],
)
def test_a_store_location_names_a_bucket_and_a_prefix(
    text: str, store: tuple[str, str] | None
) -> None:
    parsed = parse_bucket(text)
    assert (None if parsed is None else (parsed.bucket, parsed.prefix)) == store


@pytest.mark.parametrize(
    "text",
    ["kapiko-data/prod", "s3:/kapiko-data", "https://kapiko-data", "s3://Kapiko", "s3://k",
     "s3://kapiko-data/a//b", "s3://kapiko-data/../b", "data/curated"],
)  # fmt: skip
def test_a_malformed_store_location_names_the_variable_and_the_form(text: str) -> None:
    with pytest.raises(StoreError, match=r"KAPIKO_STORE=.* expected s3://<bucket>\[/<prefix>\]"):
        parse_bucket(text)


def test_keys_and_urls_sit_under_the_prefix() -> None:
    assert (
        BucketStore("b", "p/q").key("versions", "v1", "tracks.parquet")
        == "p/q/versions/v1/tracks.parquet"
    )
    assert BucketStore("b", "").key("current.json") == "current.json"
    assert BucketStore("b", "p").url("current.json") == "s3://b/p/current.json"
