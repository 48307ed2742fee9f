// The search view: the filters of GET /tracks as pickers and sliders with facet counts beside
// them, sort, paging, a table of results and download links. The hash holds the /tracks query
// itself (#/search?genre=sleep&mood=calm&sort=energy), so a search is a link to share; each
// control rewrites only its own parameters, and the form stays mounted while the hash changes,
// so the keyboard focus stays where it was.
"use strict";

async function searchView(route) {
  const controls = buildSearch(await genres());
  return {
    title: "Search",
    nodes: [controls.root],
    after: () => {
      search = controls;
      refreshSearch(route.params);
    },
  };
}

/** Apply changes ({param: value, or null to drop it}) to the search in the hash. */
function changeSearch(changes) {
  const params = currentRoute().params;
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === "") params.delete(name);
    else params.set(name, value);
  }
  params.delete("offset"); // a new search starts at its first page
  location.hash = hashFor("search", undefined, params);
}

function checkboxGroup(name, legend, values, label) {
  const boxes = values.map((value) =>
    el("label", { class: "check" },
      el("input", {
        type: "checkbox", name, value,
        onchange: () => {
          const chosen = boxes.filter((b) => b.querySelector("input").checked);
          changeSearch({ [name]: chosen.map((b) => b.querySelector("input").value).join(",") });
        },
      }),
      ` ${label(value)} `, el("span", { class: "count", "data-value": value }))
  );
  return el("fieldset", { class: `group group-${name}` }, el("legend", {}, legend), boxes);
}

function radioGroup(name, legend, options) {
  return el("fieldset", { class: `group group-${name}` }, el("legend", {}, legend),
    options.map(([value, text]) =>
      el("label", { class: "check" },
        el("input", { type: "radio", name, value, onchange: () => changeSearch({ [name]: value }) }),
        ` ${text} `, value ? el("span", { class: "count", "data-value": value }) : null)));
}

function selectField(name, label, options, onchange) {
  const select = el("select", { id: `f-${name}`, name, onchange: () => onchange(select.value) },
    options.map(([value, text]) => el("option", { value, "data-text": text }, text)));
  return el("div", { class: "field" }, el("label", { for: `f-${name}` }, label), select);
}

/** Two sliders, minimum and maximum, for min_<column> and max_<column>. */
function rangeField(column) {
  const info = FEATURE_INFO[column];
  const output = el("output", { id: `out-${column}`, class: "range-value" });
  const slider = (end) =>
    el("input", {
      type: "range", id: `${end}-${column}`, name: `${end}_${column}`,
      min: info.min, max: info.max, step: info.step, "data-end": end,
    });
  const low = slider("min");
  const high = slider("max");
  let timer = null;
  const show = () => (output.value = rangeText(column, low.valueAsNumber, high.valueAsNumber));
  const moved = (mover, other) => {
    // Keep min <= max (the API refuses the other way round): push the other slider along.
    const clash = mover === low ? low.valueAsNumber > high.valueAsNumber
                                : high.valueAsNumber < low.valueAsNumber;
    if (clash) { other.value = mover.value; other.dataset.moved = "1"; }
    show();
  };
  const settle = () => {
    // One request once the slider rests, not one per step of a drag or a held arrow key.
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changes = {};
      for (const s of [low, high]) {
        if (s.dataset.moved) changes[s.name] = boundOrValue(s);
        delete s.dataset.moved;
      }
      changeSearch(changes);
    }, SLIDER_DELAY_MS);
  };
  for (const [s, other] of [[low, high], [high, low]]) {
    s.addEventListener("input", () => { s.dataset.moved = "1"; moved(s, other); });
    s.addEventListener("change", settle);
  }
  return el("div", { class: "range", "data-column": column },
    el("div", { class: "range-head" },
      el("span", { id: `r-${column}` }, info.label, info.unit ? ` (${info.unit})` : ""), output),
    el("div", { class: "slider" },
      el("label", { for: low.id }, "min", el("span", { class: "visually-hidden" }, ` ${info.label.toLowerCase()}`)),
      low),
    el("div", { class: "slider" },
      el("label", { for: high.id }, "max", el("span", { class: "visually-hidden" }, ` ${info.label.toLowerCase()}`)),
      high));
}

/** A slider's parameter value, or null at its own end of the scale (no bound). */
function boundOrValue(slider) {
  const info = FEATURE_INFO[slider.name.slice(4)];
  const atEnd = slider.dataset.end === "min" ? slider.valueAsNumber <= info.min
                                              : slider.valueAsNumber >= info.max;
  return atEnd ? null : slider.value;
}

function rangeText(column, low, high) {
  const info = FEATURE_INFO[column];
  if (low <= info.min && high >= info.max) return "any";
  const show = (v) => (info.duration ? fmtDuration(v) : fmt(v, info.digits));
  if (high >= info.max) return `≥ ${show(low)}`;
  if (low <= info.min) return `≤ ${show(high)}`;
  return `${show(low)} to ${show(high)}`;
}

function buildSearch(genreList) {
  const artist = el("input", { id: "f-artist", name: "artist", type: "search", autocomplete: "off" });
  const harmonic = el("p", { class: "chip", hidden: true });
  const summary = el("p", { class: "summary", "aria-live": "polite" });
  const toResults = el("button", {
    type: "button", class: "to-results",
    onclick: () => { summary.scrollIntoView(); summary.focus(); },
  }, "Show the results");
  summary.tabIndex = -1;
  const form = el("form", {
    class: "filters", "aria-label": "Filters",
    onsubmit: (event) => { event.preventDefault(); changeSearch({ artist: artist.value.trim() }); },
  },
    el("h2", {}, "Filters"),
    el("p", { class: "hint" }, "Counts in brackets are among the tracks that match now."),
    selectField("genre", "Genre", [["", "Any genre"], ...genreList.map((g) => [g.id, g.name])],
      (value) => changeSearch({ genre: value })),
    el("div", { class: "field" },
      el("label", { for: "f-artist" }, "Artist contains"),
      el("div", { class: "inline" }, artist, el("button", { type: "submit" }, "Apply"))),
    harmonic,
    checkboxGroup("mood", "Mood", MOODS, (m) => m),
    // Open on wide screens; on a phone the ranges would push the results far down.
    el("details", { class: "group ranges", open: matchMedia("(min-width: 761px)").matches },
      el("summary", {}, "Feature ranges"),
      RANGE_COLUMNS.map(rangeField)),
    el("details", { class: "group" },
      el("summary", {}, "Key, mode and Camelot"),
      radioGroup("mode", "Mode", [["", "any"], ["1", "major"], ["0", "minor"]]),
      checkboxGroup("key", "Key", [...KEY_NAMES.keys()].map(String), (k) => KEY_NAMES[k]),
      checkboxGroup("camelot", "Camelot code", CAMELOT_CODES, (c) => c)),
    el("details", { class: "group" },
      el("summary", {}, "Explicit lyrics and time signature"),
      radioGroup("explicit", "Explicit", [["", "any"], ["true", "explicit"], ["false", "not explicit"]]),
      selectField("time_signature", "Beats per bar",
        [["", "Any"], ...TIME_SIGNATURES.map((n) => [String(n), String(n)])],
        (value) => changeSearch({ time_signature: value }))),
    el("p", {}, el("a", { href: "#/search" }, "Clear every filter")), toResults);
  const table = el("div", { class: "results-table" });
  const pager = el("nav", { class: "pager", "aria-label": "Result pages" });
  const downloads = el("p", { class: "downloads" });
  const sort = selectField("sort", "Sort", SORTS, (value) => changeSearch({ sort: value }));
  const limit = selectField("limit", "Per page", PAGE_SIZES.map((n) => [n, n]),
    (value) => changeSearch({ limit: value }));
  const root = el("div", { class: "search" },
    el("h1", { tabindex: "-1" }, "Search tracks"),
    el("div", { class: "search-layout" }, form,
      el("section", { class: "results", "aria-label": "Results" },
        el("div", { class: "results-bar" }, summary, sort, limit), downloads, table, pager)));
  return { root, form, artist, harmonic, summary, table, pager, downloads };
}

/** Put the controls in the state of `params`, then ask the API and show the answer. */
async function refreshSearch(params) {
  const token = ++renders;
  const s = search;
  syncControls(s, params);
  s.root.setAttribute("aria-busy", "true");
  const query = new URLSearchParams(params);
  query.delete("format");
  query.set("facets", FACETS);
  try {
    const body = await api("/tracks", query);
    if (token !== renders) return;
    clearStatus();
    showFacets(s, body.meta.facets);
    showResults(s, body, params);
    // After "Next" at the bottom of a long page, show the new page from its start.
    if (s.summary.getBoundingClientRect().top < 0) s.summary.scrollIntoView();
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    if (token !== renders) return;
    reportFailure(error, "the search results");
    s.summary.textContent = "No results: the request failed (see the message above).";
    s.table.replaceChildren();
    s.pager.replaceChildren();
    s.downloads.replaceChildren();
  } finally {
    if (token === renders) s.root.removeAttribute("aria-busy");
  }
}

function syncControls(s, params) {
  const form = s.form;
  const list = (name) => (params.get(name) || "").split(",");
  for (const box of form.querySelectorAll("input[type=checkbox]")) {
    box.checked = list(box.name).includes(box.value);
  }
  for (const radio of form.querySelectorAll("input[type=radio]")) {
    radio.checked = (params.get(radio.name) || "") === radio.value;
  }
  s.root.querySelector("#f-genre").value = params.get("genre") || "";
  s.root.querySelector("#f-time_signature").value = params.get("time_signature") || "";
  s.root.querySelector("#f-sort").value = params.get("sort") || "popularity";
  s.root.querySelector("#f-limit").value = params.get("limit") || "20";
  if (document.activeElement !== s.artist) s.artist.value = params.get("artist") || "";
  if (RANGE_COLUMNS.some((c) => params.has(`min_${c}`) || params.has(`max_${c}`))) {
    form.querySelector("details.ranges").open = true; // never hide a filter that is on
  }
  for (const column of RANGE_COLUMNS) {
    const info = FEATURE_INFO[column];
    const low = form.querySelector(`#min-${column}`);
    const high = form.querySelector(`#max-${column}`);
    low.value = params.get(`min_${column}`) ?? info.min;
    high.value = params.get(`max_${column}`) ?? info.max;
    form.querySelector(`#out-${column}`).value =
      rangeText(column, low.valueAsNumber, high.valueAsNumber);
  }
  showHarmonic(s, params);
}

function showHarmonic(s, params) {
  const id = params.get("harmonic_to") || params.get("bpm_of");
  s.harmonic.hidden = !id;
  if (!id) return s.harmonic.replaceChildren();
  const name = el("a", { href: hashFor("track", id) }, id);
  // harmonic_to and bpm_of (from the track view's "DJ-mixable" link) are shown as one chip.
  const what = [params.get("harmonic_to") ? "mixes harmonically" : null,
    params.get("bpm_of") ? `is within ${params.get("bpm_tolerance") || 6} % of the tempo (or half or double)` : null];
  s.harmonic.replaceChildren(`${what.filter(Boolean).join(" and ")} with `.replace(/^./, (c) => c.toUpperCase()), name, " ",
    el("button", { type: "button", onclick: () => changeSearch({ harmonic_to: null, bpm_of: null, bpm_tolerance: null }) },
      "Remove"));
  // The track's name is a nicety: a failure here is reported by the search itself.
  api(`/tracks/${encodeURIComponent(id)}`).then(
    (body) => (name.textContent = body.data.name ?? id),
    () => {},
  );
}

function showFacets(s, facets) {
  for (const [field, counts] of Object.entries(facets)) {
    for (const { value, count } of counts) {
      const text = value === null ? null : String(value);
      const span = s.form.querySelector(`.group-${field} .count[data-value="${text}"]`);
      if (span) span.textContent = `(${count.toLocaleString("en")})`;
      const option = s.root.querySelector(`#f-${field} option[value="${text}"]`);
      if (option) option.textContent = `${option.dataset.text} (${count.toLocaleString("en")})`;
    }
  }
}

function showResults(s, body, params) {
  const { total, limit, offset } = body.meta;
  const shown = body.data.length;
  s.summary.replaceChildren(
    el("strong", { class: "total" }, total.toLocaleString("en")),
    total === 1 ? " track matches" : " tracks match",
    shown ? ` · showing ${offset + 1}–${offset + shown}` : "");
  s.table.replaceChildren(shown ? trackTable(body.data, params.get("genre")) : el("p", {}, "No track matches these filters."));
  const page = (start) => {
    const next = new URLSearchParams(params);
    if (start) next.set("offset", String(start)); else next.delete("offset");
    return hashFor("search", undefined, next);
  };
  const links = [
    offset > 0 ? el("a", { href: page(Math.max(0, offset - limit)), rel: "prev" }, "← Previous") : null,
    offset + limit < total ? el("a", { href: page(offset + limit), rel: "next" }, "Next →") : null,
  ];
  s.pager.replaceChildren(...links.filter(Boolean));
  const filters = new URLSearchParams(params);
  for (const name of ["limit", "offset", "facets", "format"]) filters.delete(name);
  const file = (path, query, format) => apiUrl(path, [...query, ["format", format]]);
  const pageQuery = new URLSearchParams(params);
  pageQuery.delete("facets");
  pageQuery.delete("format");
  s.downloads.replaceChildren("Download ",
    // CSV for people: a spreadsheet shows a name such as =cmd|... as text, never runs it.
    el("a", { href: file("/tracks/export", filters, "spreadsheet"), download: "", class: "export-csv" },
      `all ${total.toLocaleString("en")} as CSV`), " · ",
    el("a", { href: file("/tracks/export", filters, "ndjson"), download: "" }, "as NDJSON"), " · ",
    el("a", { href: file("/tracks", pageQuery, "spreadsheet"), download: "" }, "this page as CSV"));
}
