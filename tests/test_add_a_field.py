"""Adding a numeric field is one entry in contract/fields.py, and nothing else.

A copy of the code gets one new Field in the catalogue and no other edit; then the real pipeline
ingests a raw file with that column, and the real app serves the result. The field is validated
(a bad value is quarantined with its reason), published, filterable, sortable, averaged and
bucketed per genre, in the OpenAPI document and in GET /fields, which the explorer draws from.
Every expected value is worked out here from the rows written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from builders import RAW_HEADER, raw_line, write_raw_csv

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NEW_FIELD = """    Field("tempo_confidence", "number", "Confidence of the tempo estimate.",
          "Tempo confidence", minimum=0.0, maximum=1.0, storage="float64",
          raw="tempo_confidence", edges=UNIT_EDGES, scale=100.0, feature=True, filter="range",
          sort=True, step=0.01, digits=2),
"""
END_OF_TABLE = ")  # fmt: skip\n\nFIELD: dict[str, Field]"
CONFIDENCE = {1: 0.9, 2: 0.2, 3: 0.55, 4: 0.7, 5: 1.5}  # track 5's is out of range


def copy_with_the_new_field(root: Path) -> Path:
    """The project's code under root, with NEW_FIELD appended to the catalogue's table."""
    for package in ("contract", "pipeline", "service"):
        shutil.copytree(
            PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    fields = root / "contract" / "fields.py"
    text = fields.read_text()
    assert text.count(END_OF_TABLE) == 1
    fields.write_text(text.replace(END_OF_TABLE, NEW_FIELD + END_OF_TABLE))
    return root


def run(code: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command], cwd=code, capture_output=True, text=True, check=False
    )


def served(code: Path, curated: Path, paths: list[str]) -> dict[str, Any]:
    """The JSON bodies the copied code's app answers for each path."""
    script = (
        "import json, sys; from service import create_app; "
        f"app = create_app({{'CURATED_DIR': {str(curated)!r}, 'RELOAD_INTERVAL': 0}}); "
        "client = app.test_client(); "
        f"print(json.dumps({{p: client.get('/api/v1' + p).get_json() for p in {paths!r}}}))"
    )
    answer = run(code, "-c", script)
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout.splitlines()[-1]))


def test_one_catalogue_entry_makes_a_field_validated_filterable_sortable_and_documented(
    tmp_path: Path,
) -> None:
    code = copy_with_the_new_field(tmp_path / "code")
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "genres.toml").write_text(
        '[[genre]]\nid = "sleep"\nname = "Sleep"\ndescription = "Quiet."\n'
    )
    rows = []
    for n, confidence in CONFIDENCE.items():
        line = raw_line(n, "sleep")
        line["tempo_confidence"] = str(confidence)
        rows.append(line)
    write_raw_csv(data / "raw" / "sleep.csv", rows, header=[*RAW_HEADER, "tempo_confidence"])

    ingest = run(code, "-m", "pipeline", "ingest", "--data-dir", str(data), "--no-data-docs",
                 "--max-bad-share", "0.5")  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    (quarantine,) = list((data / "runs").glob("*/quarantine.csv"))
    assert "tempo_confidence 1.5 is outside [0, 1]" in quarantine.read_text()

    valid = {n: c for n, c in CONFIDENCE.items() if c <= 1}
    wanted = sorted((c, f"{n:0>22}") for n, c in valid.items() if c >= 0.5)
    bodies = served(
        code,
        data / "curated" / "current",
        ["/tracks?min_tempo_confidence=0.5&sort=tempo_confidence_asc", "/fields",
         "/openapi.json", f"/tracks/{1:0>22}", "/genres/sleep",
         "/tracks?min_tempo_confidence=2"],
    )  # fmt: skip
    listing = bodies["/tracks?min_tempo_confidence=0.5&sort=tempo_confidence_asc"]
    assert [(t["tempo_confidence"], t["id"]) for t in listing["data"]] == wanted
    assert bodies[f"/tracks/{1:0>22}"]["data"]["tempo_confidence"] == 0.9
    assert bodies["/tracks?min_tempo_confidence=2"]["status"] == 400  # its range, from the entry

    genre = bodies["/genres/sleep"]["data"]
    average = sum(valid.values()) / len(valid)
    assert round(genre["genre"]["avg_tempo_confidence"], 4) == round(average, 4)
    buckets = {b["bucket"]: b["count"] for b in genre["distributions"]["tempo_confidence"]}
    assert buckets[20] == 1 and buckets[50] == 1 and buckets[70] == 1 and buckets[90] == 1

    (entry,) = [f for f in bodies["/fields"]["data"] if f["name"] == "tempo_confidence"]
    assert entry["filter"] == ["min_tempo_confidence", "max_tempo_confidence"]
    assert entry["sorts"] == ["tempo_confidence", "tempo_confidence_asc"]
    assert entry["label"] == "Tempo confidence" and entry["constraints"]["maximum"] == 1.0

    document = bodies["/openapi.json"]
    operation = document["paths"]["/tracks"]["get"]
    names = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert names["min_tempo_confidence"]["schema"]["maximum"] == 1.0
    assert "tempo_confidence_asc" in names["sort"]["schema"]["enum"]
    track = document["components"]["schemas"]["Track"]
    assert "tempo_confidence" in track["required"]


def test_the_copy_differs_from_the_code_by_that_one_entry(tmp_path: Path) -> None:
    code = copy_with_the_new_field(tmp_path / "code")
    for package in ("contract", "pipeline", "service"):
        for path in sorted((PROJECT_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                copied = (code / path.relative_to(PROJECT_ROOT)).read_text(errors="replace")
                if path.name == "fields.py" and package == "contract":
                    assert copied == path.read_text().replace(
                        END_OF_TABLE, NEW_FIELD + END_OF_TABLE
                    )
                else:
                    assert copied == path.read_text(errors="replace"), path
