"""The explorer: its files as the app serves them, and the page in a real browser.

The browser tests load the page from a real gunicorn (tests/servers.py) serving the curated real
data, in offline headless Chromium (tests/browser.py): every test also checks that nothing left
the origin and nothing was logged as an error. Expected values come from Polars over the curated
Parquet, or from the API itself where the page shows what an endpoint answers. Screenshots go
to a temporary folder, or to $KAPIKO_SCREENSHOTS (`make screenshots` writes docs/explorer-*.png).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from browser import WatchedPage, save_screenshot
from conftest import assert_canonical_error
from servers import Served, gunicorn, request
from test_api_exports import digest

from service.explorer import MEDIA_TYPES, STATIC

SCREENSHOTS_ENV = "KAPIKO_SCREENSHOTS"
SHOT_VIEWPORT = {"width": 1100, "height": 860}  # the docs' screenshots: small, one screen
NARROW = {"width": 360, "height": 740}
APOCALYPSE = "0yc6Gst2xkRu0eMLeRMGCX"  # Cigarettes After Sex, ambient
ALONE_WITH_YOU = "0W7brFokN6QtGRNp32RCQP"  # Arz, chill: the mix path ends here
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


# ---------------------------------------------------------------- the files (no browser)


def test_the_page_is_served_at_the_root_with_its_own_validators(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"  # revalidated: never a stale page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    etag = response.headers["ETag"]
    assert "tiny0001" not in etag  # the file's own hash, not the dataset version
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(("name", "media_type"), sorted(MEDIA_TYPES.items()))
def test_each_file_is_served_with_its_media_type(client: Any, name: str, media_type: str) -> None:
    url = "/" if name == "index.html" else f"/explorer/{name}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.data == (STATIC / name).read_bytes()
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_page_refers_only_to_its_own_files(client: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    references = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(
        ref.startswith(("/", "#", "data:")) and not ref.startswith("//") for ref in references
    )
    files = {ref.removeprefix("/explorer/") for ref in references if ref.startswith("/explorer/")}
    assert files | {"index.html"} == set(MEDIA_TYPES) == {p.name for p in STATIC.iterdir()}
    for path in STATIC.iterdir():  # no address of another site, anywhere (the SVG namespace
        text = path.read_text().replace(SVG_NAMESPACE, "")  # is a name, not a request)
        assert not re.search(r"https?://|//cdn|@import", text), path.name


@pytest.mark.parametrize(
    "url", ["/explorer/index.html", "/explorer/nope.js", "/explorer/", "/nope", "/index.html"]
)
def test_other_paths_outside_the_api_stay_json_404(client: Any, url: str) -> None:
    assert_canonical_error(client.get(url), 404)


# ---------------------------------------------------------------- in a browser, on real data


@pytest.fixture(scope="module")
def server(real_curated_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One gunicorn for the module, as `make serve` runs it, on the real curated data."""
    with gunicorn(real_curated_dir, tmp_path_factory.mktemp("explorer-server")) as served:
        yield served


@pytest.fixture
def allowed_origins(server: Served) -> tuple[str, ...]:
    return (server.base,)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get(SCREENSHOTS_ENV)
    return Path(folder) if folder else tmp_path_factory.mktemp("explorer-shots")


@pytest.fixture(scope="module")
def tables(real_curated_dir: Path) -> dict[str, pl.DataFrame]:
    names = ("tracks", "track_genres", "genres", "feature_histograms", "mood_grid", "genre_moods")
    return {name: pl.read_parquet(real_curated_dir / f"{name}.parquet") for name in names}


def members(tables: dict[str, pl.DataFrame], genre: str) -> pl.DataFrame:
    """A genre's tracks (any of their genres), by Polars."""
    ids = tables["track_genres"].filter(pl.col("genre_id") == genre)["track_id"]
    return tables["tracks"].filter(pl.col("id").is_in(ids.implode()))


def by_popularity(frame: pl.DataFrame) -> list[str]:
    return frame.sort(["popularity", "id"], descending=[True, False])["id"].to_list()


def api(server: Served, path: str) -> Any:
    status, _, body = request(f"{server.base}/api/v1{path}")
    assert status == 200, body
    return json.loads(body)


def open_view(page: WatchedPage, server: Served, route: str, viewport: Any = None) -> Any:
    """Load the explorer at a route and wait until its requests are done."""
    if viewport:
        page.page.set_viewport_size(viewport)
    page.page.goto(f"{server.base}/{route}", wait_until="networkidle")
    return page.page


def ids_in_table(view: Any) -> list[str]:
    return view.locator("table.tracks tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")


@pytest.mark.realdata
def test_the_genres_view_lists_every_genre_with_its_count(
    page: WatchedPage, server: Served, tables: dict[str, pl.DataFrame], shots: Path
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, "#/", SHOT_VIEWPORT)
    genres = tables["genres"].sort("position")
    rows = view.locator("table.genres tbody tr")
    expect(rows).to_have_count(genres.height)
    links = view.locator("table.genres tbody th a")
    assert links.all_inner_texts() == genres["name"].to_list()
    hrefs = links.evaluate_all("ls => ls.map(l => l.getAttribute('href'))")
    assert hrefs == [f"#/genre/{genre}" for genre in genres["id"]]
    counts = view.locator("td.track-count").all_inner_texts()
    assert counts == [f"{n:,}" for n in genres["track_count"]]
    expect(view.locator("main .lead")).to_contain_text(f"{tables['tracks'].height:,} unique tracks")
    save_screenshot(view, shots, "explorer-genres", full_page=False)
    page.assert_offline_and_clean()


def cell_tracks(
    tables: dict[str, pl.DataFrame], genre: str, energy: int, valence: int
) -> list[str]:
    """The ids in one mood-grid cell (buckets [lo, lo + 0.1), the last closed), by popularity."""

    def inside(column: str, label: int) -> pl.Expr:
        low, high = label / 100, (label + 10) / 100
        upper = pl.col(column) <= high if label == 90 else pl.col(column) < high
        return (pl.col(column) >= low) & upper

    cell = members(tables, genre).filter(inside("energy", energy), inside("valence", valence))
    return by_popularity(cell)


@pytest.mark.realdata
def test_a_genre_view_draws_every_histogram_and_the_mood_map(
    page: WatchedPage, server: Served, tables: dict[str, pl.DataFrame], shots: Path
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, "#/genre/ambient", SHOT_VIEWPORT)
    histograms = tables["feature_histograms"].filter(pl.col("genre_id") == "ambient")
    expect(view.locator("figure.histogram-figure")).to_have_count(9)
    for (feature,), buckets in histograms.sort("bucket").group_by("feature"):
        bars = view.locator(f'figure[data-feature="{feature}"] rect.bar')
        drawn = bars.evaluate_all("bs => bs.map(b => Number(b.dataset.count))")
        assert drawn == buckets["count"].to_list(), feature  # one bar per bucket, in order
        heights = bars.evaluate_all("bs => bs.map(b => Number(b.getAttribute('height')))")
        assert heights.index(max(heights)) == drawn.index(max(drawn))
    grid = tables["mood_grid"].filter(pl.col("genre_id") == "ambient")
    cells = view.locator(".mood-map .cell")
    expect(cells).to_have_count(100)
    shown = cells.evaluate_all(
        "cs => cs.map(c => [+c.dataset.energy, +c.dataset.valence, +c.dataset.count])"
    )
    assert sorted(map(tuple, shown)) == sorted(grid.select(pl.exclude("genre_id")).rows())
    moods = dict(
        tables["genre_moods"].filter(pl.col("genre_id") == "ambient").select("mood", "count").rows()
    )
    for mood, count in moods.items():
        expect(view.locator(f'.mood-counts li[data-mood="{mood}"] .num')).to_have_text(f"{count:,}")
    fullest = grid.sort("count", descending=True).row(0)
    top_row = grid.filter(pl.col("energy_bucket") == 90, pl.col("count") > 0).row(
        0
    )  # closed bucket
    for _, energy, valence, count in (top_row, fullest):
        view.locator(f'.cell[data-energy="{energy}"][data-valence="{valence}"]').click()
        expect(view.locator(".cell-tracks .cell-total")).to_have_text(str(count))
        listed = view.locator(".cell-tracks li")
        expect(listed).to_have_count(min(count, 20))
        ids = listed.evaluate_all("ls => ls.map(l => l.dataset.id)")
        assert ids == cell_tracks(tables, "ambient", energy, valence)[:20]
    view.evaluate("window.scrollTo(0, 0)")
    save_screenshot(view, shots, "explorer-genre")  # the whole page: map and histograms
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_a_filter_changes_the_results_and_the_url(
    page: WatchedPage, server: Served, tables: dict[str, pl.DataFrame], shots: Path
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, "#/search?genre=sleep", SHOT_VIEWPORT)
    sleep = members(tables, "sleep")
    expect(view.locator(".summary .total")).to_have_text(f"{sleep.height:,}")
    for mood in ("happy", "tense", "sad", "calm"):
        count = sleep.filter(pl.col("mood") == mood).height
        expect(view.locator(f'.group-mood .count[data-value="{mood}"]')).to_have_text(
            f"({count:,})"
        )
    view.locator('input[name="mood"][value="calm"]').check()
    view.locator('input[name="mood"][value="tense"]').check()
    expect(view).to_have_url(re.compile(r"#/search\?genre=sleep&mood=tense,calm$"))
    chosen = sleep.filter(pl.col("mood").is_in(["tense", "calm"]))
    expect(view.locator(".summary .total")).to_have_text(f"{chosen.height:,}")
    assert ids_in_table(view) == by_popularity(chosen)[:20]
    view.select_option("#f-sort", "energy_asc")
    expect(view).to_have_url(re.compile(r"mood=tense,calm&sort=energy_asc$"))
    expect(view.locator("table.tracks tbody tr").first).to_have_attribute(
        "data-id", chosen.sort(["energy", "id"])["id"][0]
    )
    assert ids_in_table(view) == chosen.sort(["energy", "id"])["id"].to_list()[:20]
    view.locator('a[rel="next"]').click()
    expect(view).to_have_url(re.compile(r"sort=energy_asc&offset=20$"))
    expect(view.locator(".summary")).to_contain_text("showing 21\N{EN DASH}40")
    assert ids_in_table(view) == chosen.sort(["energy", "id"])["id"].to_list()[20:40]
    view.locator('a[rel="prev"]').click()
    expect(view.locator(".summary")).to_contain_text("showing 1\N{EN DASH}20")
    view.select_option("#f-sort", "popularity")
    expect(view).to_have_url(re.compile(r"mood=tense,calm&sort=popularity$"))
    view.evaluate("window.scrollTo(0, 0)")
    save_screenshot(view, shots, "explorer-search", full_page=False)
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_the_search_controls_are_the_field_catalogue_s(page: WatchedPage, server: Served) -> None:
    """Every filter, sort and facet the catalogue (GET /fields) declares has its control."""
    from playwright.sync_api import expect

    fields = api(server, "/fields")["data"]
    view = open_view(page, server, "#/search")
    expect(view.locator(".summary .total")).not_to_have_text("")
    sliders = view.locator('input[type="range"]').evaluate_all("els => els.map(e => e.name)")
    ranges = [name for f in fields if len(f["filter"]) == 2 for name in f["filter"]]
    assert sorted(sliders) == sorted(ranges)
    sorts = view.locator("#f-sort option").evaluate_all("els => els.map(e => e.value)")
    assert sorted(sorts) == sorted(sort for f in fields for sort in f["sorts"])
    by_name = {f["name"]: f for f in fields}
    for name in ("mood", "camelot"):
        boxes = view.locator(f'input[name="{name}"]').evaluate_all("els => els.map(e => e.value)")
        assert boxes == by_name[name]["constraints"]["enum"]
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_the_csv_link_downloads_the_rows_the_api_returns(
    page: WatchedPage, server: Served, tmp_path: Path
) -> None:
    query = "genre=sleep&mood=sad,calm&min_energy=0.2&sort=tempo"
    view = open_view(page, server, f"#/search?{query}")
    with view.expect_download() as download:
        view.locator("a.export-csv").click()
    version = api(server, "/health")["data"]["dataset"]["version"]
    # The export's name: its genre, then a digest of the other parameters (test_api_exports).
    asked = {"filters": {"min_energy": 0.2, "mood": ["sad", "calm"]}, "sort": "tempo"}
    expected_name = f"kapiko-tracks-sleep-q{digest(asked)}-{version}.csv"
    assert download.value.suggested_filename == expected_name
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected: list[dict[str, Any]] = []
    while True:  # every page of the same search, as the API returns it
        body = api(server, f"/tracks?{query}&limit=100&offset={len(expected)}")
        expected += body["data"]
        if len(expected) >= body["meta"]["total"]:
            break
    assert [row["id"] for row in rows] == [track["id"] for track in expected]
    for row, track in zip(rows, expected, strict=True):
        assert list(row) == list(track)
        for name, value in track.items():
            if isinstance(value, float):
                assert float(row[name]) == value
            elif isinstance(value, list):
                assert row[name] == ";".join(value)
            elif isinstance(value, bool):
                assert row[name] == str(value).lower()
            else:
                assert row[name] == ("" if value is None else str(value))
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_a_track_view_shows_compare_bars_harmonic_matches_and_similar_tracks(
    page: WatchedPage, server: Served, shots: Path
) -> None:
    from playwright.sync_api import expect

    comparison = api(server, f"/compare?track_id={APOCALYPSE}&genre=ambient")["data"]["comparison"]
    similar = api(server, f"/tracks/{APOCALYPSE}/similar?limit=10")["data"]
    harmonic = api(server, f"/tracks?harmonic_to={APOCALYPSE}&genre=ambient&limit=11")["data"]
    view = open_view(page, server, f"#/track/{APOCALYPSE}", SHOT_VIEWPORT)
    expect(view.locator("main h1")).to_have_text("Apocalypse")
    bars = view.locator("rect.pct-bar")
    expect(bars).to_have_count(len(comparison))
    drawn = bars.evaluate_all("bs => bs.map(b => [b.dataset.feature, +b.dataset.percentile])")
    assert dict(drawn) == {feature: c["percentile"] for feature, c in comparison.items()}
    for feature, c in comparison.items():
        reading = view.locator(f'.compare-bars li[data-feature="{feature}"] .reading')
        expect(reading).to_contain_text(
            f"{c['percentile']:.1f} percentile, {c['percentile_label']}"
        )
    expect(view.locator(".facts")).to_contain_text("F major · 7B")
    links = view.locator(".similar-list li a")
    hrefs = links.evaluate_all("ls => ls.map(l => l.getAttribute('href'))")
    assert hrefs == [f"#/track/{track['id']}" for track in similar]
    assert links.all_inner_texts() == [track["name"] for track in similar]
    matches = view.locator(".harmonic .track-list li a").evaluate_all(
        "ls => ls.map(l => l.getAttribute('href').split('?')[0])"
    )
    assert matches == [f"#/track/{t['id']}" for t in harmonic if t["id"] != APOCALYPSE][:10]
    save_screenshot(view, shots, "explorer-track", full_page=False)
    view.select_option("#compare-genre", "sleep")
    expect(view).to_have_url(re.compile(rf"#/track/{APOCALYPSE}\?genre=sleep$"))
    expect(view.locator(".compare .hint")).to_contain_text("tracks of Sleep")
    links.first.click()
    expect(view.locator("main h1")).to_have_text(similar[0]["name"])
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_keyboard_alone_opens_a_genre_and_lists_a_mood_cell(
    page: WatchedPage, server: Served
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, "#/")

    def tab_to(condition: str, most: int = 80) -> None:
        for _ in range(most):
            view.keyboard.press("Tab")
            if view.evaluate(f"(e => {condition})(document.activeElement)"):
                outline = view.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none"  # focus is visible
                return
        pytest.fail(f"Tab never reached {condition}")

    tab_to("e.tagName === 'A' && e.textContent === 'Ambient'")
    view.keyboard.press("Enter")
    expect(view).to_have_url(re.compile(r"#/genre/ambient$"))
    expect(view.locator("main h1")).to_be_focused()  # put at the new view's heading
    tab_to("e.classList.contains('cell')")
    count = view.evaluate("document.activeElement.dataset.count")
    view.keyboard.press("Enter")
    expect(view.locator(".cell-tracks .cell-total")).to_have_text(count)
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_a_slider_moved_with_the_keyboard_filters_and_keeps_the_focus(
    page: WatchedPage, server: Served, tables: dict[str, pl.DataFrame]
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, "#/search?genre=ambient")
    view.focus("#min-energy")
    for _ in range(30):
        view.keyboard.press("ArrowRight")  # 30 steps of 0.01
    expect(view).to_have_url(re.compile(r"#/search\?genre=ambient&min_energy=0\.3$"))
    expected = members(tables, "ambient").filter(pl.col("energy") >= 0.3)
    expect(view.locator(".summary .total")).to_have_text(f"{expected.height:,}")
    expect(view.locator("#out-energy")).to_have_text("≥ 0.30")
    expect(view.locator("#min-energy")).to_be_focused()  # the form was not rebuilt under it
    page.assert_offline_and_clean()


@pytest.mark.realdata
@pytest.mark.parametrize(
    "route",
    [
        "#/",
        "#/genre/ambient",
        "#/search?genre=ambient",
        f"#/track/{APOCALYPSE}",
        f"#/mix?from={APOCALYPSE}&to={ALONE_WITH_YOU}&length=8",
        "#/artist/Cigarettes%20After%20Sex",
    ],
)
def test_every_view_is_readable_360_px_wide(
    page: WatchedPage, server: Served, shots: Path, route: str
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, route, NARROW)
    expect(view.locator("main h1")).to_be_visible()
    assert view.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert view.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 14
    if route.startswith("#/search"):  # the filters come first; a button jumps to the results
        view.get_by_role("button", name="Show the results").click()
        expect(view.locator(".summary")).to_be_focused()
        expect(view.locator("table.tracks tbody tr").first).to_be_in_viewport()
        save_screenshot(view, shots, "explorer-search-360", full_page=False)
    page.assert_offline_and_clean()


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("#/genre/nope", "Genre not found: 'nope'"),
        ("#/search?min_energy=2", "'min_energy' is out of range"),
        ("#/track/0000000000000000000000", "Track not found"),
    ],
)
def test_a_failed_request_is_said_plainly(
    page: WatchedPage, server: Served, route: str, message: str
) -> None:
    from playwright.sync_api import expect

    view = open_view(page, server, route)
    status = view.locator("#status")
    expect(status).to_be_visible()
    expect(status).to_have_attribute("role", "alert")
    expect(status).to_contain_text(message)
    expect(status).to_contain_text("HTTP 4")
    assert page.outside_requests == []
    # Chromium itself logs the failed request; nothing else may be logged.
    assert page.console_errors and all("the server responded with a status of 4" in e
                                       for e in page.console_errors)  # fmt: skip


HOSTILE_NAMES = {1: "left \u202eright-to-left override", 2: "</script><b>bold</b>", 3: "شادي"}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """gunicorn over six tracks, three of them with names that try to reorder or inject."""
    from conftest import TINY_TRACKS, write_curated

    tracks = {n: (genres, {**values, **({"track_name": HOSTILE_NAMES[n]} if n in HOSTILE_NAMES
                                          else {})}) for n, (genres, values) in TINY_TRACKS.items()}  # fmt: skip
    folder = write_curated(tmp_path_factory.mktemp("hostile") / "v", tracks)
    with gunicorn(folder, tmp_path_factory.mktemp("hostile-server")) as served:
        yield served


def test_names_are_shown_as_text_each_in_its_own_bidirectional_box(
    browser: Any, hostile_server: Served
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{hostile_server.base}/#/track/{1:0>22}", wait_until="networkidle")
        heading = page.locator("h1 bdi")
        assert heading.text_content() == HOSTILE_NAMES[1]  # the text, exactly, as text
        assert heading.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
        page.goto(f"{hostile_server.base}/#/search", wait_until="networkidle")
        page.locator("table.tracks tbody tr").first.wait_for()
        names = page.locator("table.tracks tbody a bdi").all_text_contents()
        assert set(HOSTILE_NAMES.values()) <= set(names)
        assert page.locator("table.tracks b").count() == 0  # nothing became markup
    finally:
        context.close()


@pytest.mark.realdata
def test_a_mix_path_is_walked_from_a_track_view(
    page: WatchedPage, server: Served, shots: Path
) -> None:
    from playwright.sync_api import expect

    steps = api(server, f"/mix?from={APOCALYPSE}&to={ALONE_WITH_YOU}&length=8")["data"]
    view = open_view(page, server, f"#/track/{APOCALYPSE}", SHOT_VIEWPORT)
    view.locator("a.walk-mix").click()
    expect(view).to_have_url(re.compile(rf"#/mix\?from={APOCALYPSE}$"))
    expect(view.locator("#mix-to option").first).to_be_attached()  # the destinations came
    view.fill("#mix-id", ALONE_WITH_YOU)
    view.fill("#mix-length", "8")
    view.get_by_role("button", name="Walk").click()
    expect(view).to_have_url(re.compile(rf"#/mix\?from={APOCALYPSE}&to={ALONE_WITH_YOU}&length=8$"))
    rows = view.locator("table.mix tbody tr")
    expect(rows).to_have_count(8)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.id)") == [s["track"]["id"] for s in steps]
    keys = view.locator("table.mix td.mix-key").all_inner_texts()
    assert [k.split()[0] for k in keys] == ["7B", "8B", "8B", "9B", "10B", "9B", "9B", "9B"]
    assert (
        "one step up the wheel (+1)" in keys[1]
        and "same tempo" in view.locator("table.mix td.mix-tempo").nth(1).inner_text()
    )
    save_screenshot(view, shots, "explorer-mix", full_page=False)
    page.assert_offline_and_clean()


@pytest.mark.realdata
def test_a_mix_with_no_path_says_which_step_and_why(
    page: WatchedPage, server: Served, tables: dict[str, pl.DataFrame]
) -> None:
    from playwright.sync_api import expect

    beatless = tables["tracks"].filter(pl.col("tempo") == 0).sort("id")["id"][0]
    view = open_view(page, server, f"#/mix?from={beatless}&to={APOCALYPSE}&length=5")
    expect(view.locator("#status")).to_contain_text("no track fits step 1 of the path")
    expect(view.locator(".mix-failed")).to_contain_text("has tempo 0 (no beat)")
    assert page.outside_requests == []
    assert all("status of 422" in error for error in page.console_errors)  # Chromium's own


@pytest.mark.realdata
def test_an_artist_view_shows_its_related_artists(
    page: WatchedPage, server: Served, shots: Path
) -> None:
    from playwright.sync_api import expect

    related = api(server, "/artists/related?name=Cigarettes%20After%20Sex&limit=15")
    view = open_view(page, server, f"#/track/{APOCALYPSE}", SHOT_VIEWPORT)
    view.locator("a.artist", has_text="Cigarettes After Sex").click()
    expect(view.locator("main h1")).to_have_text("Cigarettes After Sex")
    listed = view.locator(".related-list li")
    expect(listed).to_have_count(len(related["data"]))
    names = listed.evaluate_all("ls => ls.map(l => l.dataset.name)")
    assert names == [a["name"] for a in related["data"]]
    assert names[:2] == ["Zero 7", "Bonobo"]
    expect(view.locator("main .lead")).to_contain_text(
        f"{related['meta']['artist']['track_count']} tracks"
    )
    save_screenshot(view, shots, "explorer-artist", full_page=False)
    listed.first.locator("a").click()
    expect(view.locator("main h1")).to_have_text(names[0])
    page.assert_offline_and_clean()
