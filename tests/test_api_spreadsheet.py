"""CSV for people (format=spreadsheet) and CSV for data tools (format=csv): the same rows, but
a cell a spreadsheet would run as a formula is neutralised only in the first."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import write_curated

from service import create_app

HOSTILE = {  # track number -> name
    1: "=cmd|' /C calc'!A0",
    2: "+1+1",
    3: "-2+3+cmd|' /C calc'!A0",
    4: "@SUM(A1:A2)",
    5: "\tTabbed",
    6: "Plain name",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tracks = {
        n: (("ambient",), {"track_name": name, "loudness": -8.5}) for n, name in HOSTILE.items()
    }
    folder = write_curated(tmp_path_factory.mktemp("hostile") / "v", tracks)
    return create_app({"CURATED_DIR": str(folder), "RELOAD_INTERVAL": 0}).test_client()


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


@pytest.mark.parametrize("url", ["/api/v1/tracks/export?sort=name", "/api/v1/tracks?sort=name"])
def test_the_data_tools_csv_is_exact_and_the_spreadsheet_csv_neutralises_formulas(
    client: Any, url: str
) -> None:
    exact = rows(client.get(url + "&format=csv").data)
    response = client.get(url + "&format=spreadsheet")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    safe = rows(response.data)
    assert sorted(row["name"] for row in exact) == sorted(HOSTILE.values())
    for plain, neutral in zip(exact, safe, strict=True):
        name = plain["name"]
        expected = "'" + name if name[0] in "=+-@\t\r" else name
        assert neutral["name"] == expected
        assert neutral["loudness"] == plain["loudness"] == "-8.5"  # a number is not a formula
        assert {k: v for k, v in neutral.items() if k != "name"} == {
            k: v for k, v in plain.items() if k != "name"
        }


def test_the_explorer_s_download_links_ask_for_the_spreadsheet_csv() -> None:
    script = (Path(__file__).resolve().parents[1] / "service/static/explorer/search.js").read_text()
    assert '"spreadsheet"' in script
