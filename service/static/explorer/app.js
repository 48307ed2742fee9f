// kapiko explorer: six views (genres, a genre, search, a track, a mix path, an artist) over the
// public JSON API.
// No framework and no build step. Routes live in the URL hash (#/genre/ambient,
// #/search?mood=calm&genre=sleep, #/track/<id>?genre=ambient), so every view and every search
// can be bookmarked and shared; the search's hash holds exactly the /tracks query it sends.
// Every request goes to /api/v1 on this origin; charts.js draws the SVG.
"use strict";

const API = "/api/v1";
// What the field catalogue (GET /fields) says, learnt once before the first view is drawn.
let MOODS = []; // the mood values, in facet order
let KEY_NAMES = []; // key_name by key (0-11), with sharps as ♯
let CAMELOT_CODES = []; // 1A ... 12B
let TIME_SIGNATURES = [];
let HARMONIC = {}; // Camelot code -> the codes it mixes with (the harmonic_to rule)
let FACETS = ""; // every facetable field, comma-separated
let RANGE_COLUMNS = []; // every field with min_/max_ filters
let SORTS = []; // [sort name, label] in the order the sort picker lists them
// Friendlier words than "<label>: highest first" for a few sorts.
const SORT_WORDS = { popularity: "Most popular", popularity_asc: "Least popular" };

/** Learn the fields, their filters, sorts and facets from the API's catalogue. */
function learnCatalogue(body) {
  learnFields(body.data);
  const field = Object.fromEntries(body.data.map((f) => [f.name, f]));
  MOODS = field.mood.constraints.enum;
  KEY_NAMES = field.key_name.constraints.enum.map((name) => name.replace("#", "♯"));
  CAMELOT_CODES = field.camelot.constraints.enum;
  const ts = field.time_signature.constraints;
  TIME_SIGNATURES = Array.from({ length: ts.maximum - ts.minimum + 1 }, (_, i) => ts.minimum + i);
  HARMONIC = body.meta.harmonic;
  FACETS = [...body.data.filter((f) => f.facet).map((f) => f.name), "genre"].join(",");
  RANGE_COLUMNS = body.data.filter((f) => f.filter.length === 2).map((f) => f.name);
  const label = (f, sort) => {
    if (SORT_WORDS[sort]) return SORT_WORDS[sort];
    const first = sort === f.name;
    if (f.type === "string") return `${f.label} ${first ? "A–Z" : "Z–A"}`;
    return `${f.label}: ${first ? "highest" : "lowest"} first`;
  };
  const sorted = body.data.filter((f) => f.sorts.length);
  const leading = sorted.filter((f) => f.name === "popularity" || f.name === "name");
  SORTS = [...leading, ...sorted.filter((f) => !leading.includes(f))]
    .flatMap((f) => f.sorts.map((sort) => [sort, label(f, sort)]));
}

let catalogue = null; // the answer of GET /fields, asked once
function learnt() {
  catalogue = catalogue || api("/fields").then(learnCatalogue);
  catalogue.catch(() => (catalogue = null)); // ask again at the next navigation
  return catalogue;
}
const PAGE_SIZES = ["20", "50", "100"];
const SLIDER_DELAY_MS = 300; // wait for a slider to settle before asking the API

const main = document.getElementById("main");
const statusBox = document.getElementById("status");
let renders = 0; // bumped by each navigation: an answer for an older view is dropped
let search = null; // the mounted search view's controls, while it is on screen
let genreList = null; // GET /genres, asked once

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(message, status, url) {
    super(message);
    this.status = status;
    this.url = url;
  }
}

/** A query string with readable commas (the API splits lists on them either way). */
function queryString(params) {
  return [...params]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%2C/g, ",")}`)
    .join("&");
}

function apiUrl(path, params) {
  const query = params ? queryString(params) : "";
  return `${API}${path}${query ? "?" + query : ""}`;
}

/** GET a JSON body from the API; an ApiError carries the API's own message. */
async function api(path, params) {
  const url = apiUrl(path, params);
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (error) {
    throw new ApiError(`the API did not answer (${error.message})`, 0, url);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new ApiError(message, response.status, url);
  }
  return body;
}

function genres() {
  genreList = genreList || api("/genres").then((body) => body.data);
  genreList.catch(() => (genreList = null)); // ask again next time
  return genreList;
}

// ---------------------------------------------------------------- status and routing

/** Say plainly that a request failed, in the alert region and in place of the content. */
function reportFailure(error, what) {
  const request = [error.status ? `HTTP ${error.status}` : "", error.url ? `GET ${error.url}` : ""];
  statusBox.replaceChildren(
    el("strong", {}, `Could not load ${what}: `),
    error.message,
    el("span", { class: "url" }, request.filter(Boolean).join(" · ")),
  );
  statusBox.hidden = false;
}

function clearStatus() {
  statusBox.hidden = true;
  statusBox.replaceChildren();
}

/** The view, its argument and its query from the hash: #/track/<id>?genre=ambient. */
function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const cut = hash.indexOf("?");
  const path = cut < 0 ? hash : hash.slice(0, cut);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return {
    view: parts[0] || "genres",
    arg: parts[1],
    params: new URLSearchParams(cut < 0 ? "" : hash.slice(cut + 1)),
  };
}

function hashFor(view, arg, params) {
  const query = params ? queryString(params) : "";
  const path = arg === undefined ? view : `${view}/${encodeURIComponent(arg)}`;
  return `#/${path}${query ? "?" + query : ""}`;
}

async function render(navigated) {
  const route = currentRoute();
  for (const link of document.querySelectorAll("[data-nav]")) {
    const here = link.dataset.nav === route.view;
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (route.view === "search" && search && main.contains(search.root)) {
    return refreshSearch(route.params); // the form stays, and so does the keyboard focus
  }
  search = null;
  const token = ++renders;
  clearStatus();
  main.setAttribute("aria-busy", "true");
  main.replaceChildren(el("p", { class: "loading" }, "Loading…"));
  // Looked up now, not when this script loads: search.js and track.js load after it.
  const views = {
    genres: genresView, genre: genreView, search: searchView, track: trackView, mix: mixView,
    artist: artistView,
  };
  const view = views[route.view];
  try {
    if (!view) throw new ApiError(`there is no view called '${route.view}'`, 0, "");
    await learnt(); // every view draws its controls and labels from the field catalogue
    const page = await view(route);
    if (token !== renders) return;
    document.title = `${page.title} · kapiko explorer`;
    main.replaceChildren(...page.nodes);
    window.scrollTo(0, 0); // a hash change keeps the old scroll position; a new view starts at its top
    if (page.after) page.after();
    // After a navigation, put keyboard and screen-reader users at the new heading.
    if (navigated) main.querySelector("h1")?.focus();
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error); // a bug here, not a failed request
    if (token !== renders) return;
    reportFailure(error, route.view === "genres" ? "the genres" : `this ${route.view}`);
    document.title = "Request failed · kapiko explorer";
    main.replaceChildren(
      el("h1", { tabindex: "-1" }, "Nothing to show"),
      el("p", {}, "The request above failed. ", el("a", { href: "#/" }, "Back to the genres"), "."),
    );
  } finally {
    if (token === renders) main.removeAttribute("aria-busy");
  }
}

window.addEventListener("hashchange", () => render(true));
// Deferred scripts have all run before DOMContentLoaded: every view is defined by then.
document.addEventListener("DOMContentLoaded", () => render(false));

// ---------------------------------------------------------------- genres

async function genresView() {
  const [list, stats] = await Promise.all([genres(), api("/stats")]);
  const unit = ["energy", "valence", "danceability", "acousticness", "instrumentalness"];
  const head = el("tr", {},
    el("th", { scope: "col" }, "Genre"),
    el("th", { scope: "col", class: "num" }, "Tracks"),
    unit.map((f) => el("th", { scope: "col" }, FEATURE_INFO[f].label)),
    el("th", { scope: "col", class: "num" }, "Tempo"),
    el("th", { scope: "col", class: "num" }, "Loudness"),
  );
  const rows = list.map((g) =>
    el("tr", { "data-genre": g.id },
      el("th", { scope: "row", "data-label": "Genre" },
        el("a", { href: hashFor("genre", g.id) }, isolated(g.name)),
        el("span", { class: "description" }, g.description)),
      el("td", { class: "num track-count", "data-label": "Tracks" }, g.track_count.toLocaleString("en")),
      unit.map((f) =>
        el("td", { "data-label": FEATURE_INFO[f].label, class: "meter-cell" },
          meter(g[`avg_${f}`] ?? 0), el("span", {}, fmt(g[`avg_${f}`])))),
      el("td", { class: "num", "data-label": "Tempo" }, fmtFeature("tempo", g.avg_tempo)),
      el("td", { class: "num", "data-label": "Loudness" }, fmtFeature("loudness", g.avg_loudness)),
    ),
  );
  const totals = stats.data.totals;
  return {
    title: "Genres",
    nodes: [
      el("h1", { tabindex: "-1" }, "Genres"),
      el("p", { class: "lead" },
        `${totals.genres} genres, ${totals.tracks.toLocaleString("en")} unique tracks. `,
        "Averages of the genre's tracks; open a genre for its distributions and mood map, or ",
        el("a", { href: "#/search" }, "search every track"), "."),
      el("div", { class: "table-wrap" },
        el("table", { class: "genres stack" },
          el("caption", { class: "visually-hidden" }, "Every genre with its averages"),
          el("thead", {}, head), el("tbody", {}, rows))),
    ],
  };
}

// ---------------------------------------------------------------- a genre

async function genreView(route) {
  const body = await api(`/genres/${encodeURIComponent(route.arg)}`);
  const detail = body.data;
  const g = detail.genre;
  const cellTracks = el("section", { class: "cell-tracks", "aria-live": "polite" });
  return {
    title: g.name,
    nodes: [
      el("h1", { tabindex: "-1" }, g.name),
      el("p", { class: "lead" }, g.description, " ",
        el("strong", {}, `${g.track_count.toLocaleString("en")} tracks.`), " ",
        el("a", { href: hashFor("search", undefined, new URLSearchParams({ genre: g.id })) },
          "Search its tracks")),
      el("div", { class: "genre-top" },
        el("section", { class: "moods", "aria-labelledby": "moods-h" },
          el("h2", { id: "moods-h" }, "Moods"), moodCounts(detail.moods, g.track_count)),
        el("section", { class: "artists", "aria-labelledby": "artists-h" },
          el("h2", { id: "artists-h" }, "Top artists"), topArtists(detail.top_artists, g.id))),
      el("section", { "aria-labelledby": "map-h" },
        el("h2", { id: "map-h" }, "Mood map: valence × energy"),
        el("p", { class: "hint" }, "Tracks per cell. Choose a cell to list its tracks."),
        el("div", { class: "map-layout" }, moodMap(detail.mood_grid, g.id, cellTracks), cellTracks)),
      el("section", { "aria-labelledby": "dist-h" },
        el("h2", { id: "dist-h" }, "Feature distributions"),
        el("div", { class: "histograms" },
          Object.entries(detail.distributions).map(([feature, buckets]) =>
            el("figure", { class: "histogram-figure", "data-feature": feature },
              el("figcaption", {}, FEATURE_INFO[feature].label,
                FEATURE_INFO[feature].unit ? ` (${FEATURE_INFO[feature].unit})` : ""),
              histogram(feature, buckets))))),
    ],
  };
}

function moodCounts(moods, total) {
  return el("ul", { class: "mood-counts" },
    MOODS.map((mood) =>
      el("li", { "data-mood": mood },
        el("span", { class: `mood-name mood-${mood}` }, mood),
        meter(moods[mood], Math.max(total, 1)),
        el("span", { class: "num" }, moods[mood].toLocaleString("en")))),
  );
}

function topArtists(artists, genre) {
  return el("ol", { class: "top-artists" },
    artists.map((a) =>
      el("li", {},
        el("a", { href: hashFor("search", undefined, new URLSearchParams({ genre, artist: a.artists })) },
          isolated(a.artists)),
        ` ${a.track_count}`)),
  );
}

/** The largest double below x: the inclusive upper bound of a half-open bucket [lo, x). */
function below(x) {
  const value = new Float64Array([x]);
  new BigInt64Array(value.buffer)[0] -= 1n; // positive doubles order like their bit patterns
  return value[0];
}

/** The /tracks bounds of one mood-grid bucket: 10 wide, in per cent, the last one closed. */
function bucketRange(label, last) {
  return [String(label / 100), last ? "1" : String(below((label + 10) / 100))];
}

function moodMap(grid, genre, cellTracks) {
  const max = Math.max(1, ...grid.counts.flat());
  const cells = [];
  // Energy rises up the map, valence to the right, as in the circumplex model.
  for (let i = grid.energy_buckets.length - 1; i >= 0; i -= 1) {
    for (let j = 0; j < grid.valence_buckets.length; j += 1) {
      const count = grid.counts[i][j];
      const e = grid.energy_buckets[i];
      const v = grid.valence_buckets[j];
      const cell = el("button", {
        type: "button",
        class: "cell",
        "data-energy": e,
        "data-valence": v,
        "data-count": count,
        disabled: count === 0,
        "aria-label": `energy ${e}–${e + 10} %, valence ${v}–${v + 10} %: ${count} tracks`,
        onclick: () => {
          for (const other of cells) other.removeAttribute("aria-pressed");
          cell.setAttribute("aria-pressed", "true");
          listCell(genre, grid, i, j, cellTracks);
        },
      }, count ? String(count) : "");
      // CSSOM, not a style attribute: the page's Content-Security-Policy allows only this.
      cell.style.setProperty("--shade", Math.sqrt(count / max).toFixed(3));
      if (count / max > 0.3) cell.classList.add("dark");
      cells.push(cell);
    }
  }
  return el("div", { class: "mood-map" },
    el("span", { class: "axis-y" }, "energy 0 → 1"),
    el("div", { class: "grid", role: "group", "aria-label": "Mood map: energy rows, valence columns" },
      cells,
      el("span", { class: "quadrant q-tense", "aria-hidden": "true" }, "tense"),
      el("span", { class: "quadrant q-happy", "aria-hidden": "true" }, "happy"),
      el("span", { class: "quadrant q-sad", "aria-hidden": "true" }, "sad"),
      el("span", { class: "quadrant q-calm", "aria-hidden": "true" }, "calm")),
    el("span", { class: "axis-x" }, "valence 0 → 1"),
  );
}

async function listCell(genre, grid, i, j, target) {
  const last = grid.energy_buckets.length - 1;
  const [minE, maxE] = bucketRange(grid.energy_buckets[i], i === last);
  const [minV, maxV] = bucketRange(grid.valence_buckets[j], j === grid.valence_buckets.length - 1);
  const params = new URLSearchParams({
    genre, min_energy: minE, max_energy: maxE, min_valence: minV, max_valence: maxV,
  });
  const e = grid.energy_buckets[i];
  const v = grid.valence_buckets[j];
  target.replaceChildren(el("p", { class: "loading" }, "Loading…"));
  try {
    const body = await api("/tracks", new URLSearchParams([...params, ["limit", "20"]]));
    clearStatus();
    target.replaceChildren(
      el("h3", {}, `Energy ${e}–${e + 10} %, valence ${v}–${v + 10} %: `,
        el("span", { class: "cell-total" }, String(body.meta.total)), " tracks"),
      cellList(body.data, genre),
      body.meta.total > body.data.length
        ? el("p", {}, el("a", { href: hashFor("search", undefined, params) },
            `All ${body.meta.total} in the search`))
        : null,
    );
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    reportFailure(error, "the tracks of this cell");
    target.replaceChildren(el("p", { class: "failed" }, "The tracks could not be loaded."));
  }
}

// ---------------------------------------------------------------- a table of tracks

function trackLink(track, genre) {
  const params = genre ? new URLSearchParams({ genre }) : undefined;
  return el("a", { href: hashFor("track", track.id, params) }, isolated(track.name ?? "(no name)"));
}

/** Several artists come joined by ';' in the data: show them as a list. */
/** Text from the data in a <bdi>: right-to-left text, or an override inside a name, stays in
 * its own box and cannot reorder the text around it. */
function isolated(text) {
  return el("bdi", {}, text);
}

function artistsText(track) {
  return (track.artists ?? "").split(";").join(", ");
}

/** At most three artists in a table cell, the rest counted (all of them in its tooltip). */
function shortArtists(track) {
  const names = artistsText(track).split(", ");
  if (names.length <= 3) return isolated(names.join(", "));
  return el("span", { title: names.join(", ") }, `${names.slice(0, 2).join(", ")} and ${names.length - 2} more`);
}

function keyText(track) {
  if (track.key_name === null) return "no key";
  return `${track.key_name.replace("#", "♯")} ${track.mode ? "major" : "minor"} · ${track.camelot}`;
}

/** A compact list of tracks, for the narrow column beside the mood map. */
function cellList(tracks, genre) {
  return el("ol", { class: "track-list cell-list" },
    tracks.map((t) => el("li", { "data-id": t.id }, trackLink(t, genre), " · ", isolated(artistsText(t)),
      el("span", { class: "distance" }, ` · energy ${fmt(t.energy)}, valence ${fmt(t.valence)}`))));
}

/** The tracks as a table; the genre column is left out when every track is of one genre. */
function trackTable(tracks, genre) {
  const columns = [
    ["Track", (t) => trackLink(t, genre)],
    ["Artists", shortArtists],
    ...(genre ? [] : [["Genre", (t) => t.genre_name]]),
    ["Mood", (t) => el("span", { class: `mood-name mood-${t.mood}` }, t.mood)],
    ["Key", (t) => el("span", { class: "key" }, keyText(t))],
    ["Energy", (t) => fmt(t.energy)],
    ["Valence", (t) => fmt(t.valence)],
    ["Tempo", (t) => fmt(t.tempo, 0)],
    ["Popularity", (t) => String(t.popularity)],
  ];
  return el("div", { class: "table-wrap" },
    el("table", { class: "tracks stack" },
      el("thead", {}, el("tr", {}, columns.map(([name]) => el("th", { scope: "col" }, name)))),
      el("tbody", {},
        tracks.map((t) =>
          el("tr", { "data-id": t.id },
            columns.map(([name, cell], n) =>
              el(n === 0 ? "th" : "td", { "data-label": name, scope: n === 0 ? "row" : null },
                cell(t))))))),
  );
}
