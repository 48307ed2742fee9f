// Two views of issue 18: a mix path between two tracks (GET /mix) and an artist with its
// related artists (GET /artists, /artists/related). #/mix?from=<id>&to=<id>&length=8 holds the
// /mix query itself; #/artist/<name> an artist's exact name.
"use strict";

const MIX_LENGTH = "8";
const DESTINATIONS = 50; // tracks offered as destinations from a chosen genre
const RELATED_LIMIT = 15;

async function mixView(route) {
  const params = route.params;
  const from = params.get("from");
  if (!from) throw new ApiError("a mix path starts at a track: open one and choose “Walk a mix path”", 0, "");
  const [start, genreList] = await Promise.all([api(`/tracks/${encodeURIComponent(from)}`), genres()]);
  const track = start.data;
  const form = mixForm(track, params, genreList);
  const result = el("section", { class: "mix-result", "aria-live": "polite", "aria-labelledby": "mix-h" });
  if (params.get("to")) await showPath(result, params);
  return {
    title: `Mix from ${track.name ?? from}`,
    nodes: [
      el("h1", { tabindex: "-1" }, "Walk a mix path"),
      el("p", { class: "lead" }, "From ", el("a", { href: hashFor("track", from) }, isolated(track.name ?? from)),
        ` (${keyText(track)}, ${fmt(track.tempo, 0)} BPM) to a track you choose. Each step is the track `,
        "nearest to its point on the straight way between the two, among those that mix with the ",
        "track before it: a neighbouring Camelot code and within 6 % of its tempo (or half or double)."),
      form.root,
      result,
    ],
    after: form.after,
  };
}

/** The destination picker: a genre's most popular tracks, or any track id; and the length. */
function mixForm(track, params, genreList) {
  const genre = el("select", { id: "mix-genre" },
    genreList.map((g) => el("option", { value: g.id, selected: g.id === (params.get("genre") || track.genre_id) }, g.name)));
  const to = el("select", { id: "mix-to", name: "to" });
  const length = el("input", { id: "mix-length", name: "length", type: "number", min: 3, max: 30, value: params.get("length") || MIX_LENGTH });
  const other = el("input", { id: "mix-id", type: "text", inputmode: "latin", autocomplete: "off", size: 24, pattern: "[0-9A-Za-z]{22}" });
  const fill = async () => {
    const chosen = params.get("to");
    const body = await api(`/genres/${encodeURIComponent(genre.value)}/tracks`,
      new URLSearchParams({ limit: String(DESTINATIONS), fields: "name,artists,camelot,tempo" }));
    const options = body.data.filter((t) => t.id !== track.id).map((t) =>
      el("option", { value: t.id, selected: t.id === chosen },
        `${t.name} · ${artistsText(t)} · ${t.camelot ?? "no key"} · ${fmt(t.tempo, 0)} BPM`));
    to.replaceChildren(...options);
    // A destination that is not among this genre's most popular tracks stays in the id field.
    if (chosen && !options.some((o) => o.value === chosen)) other.value = chosen;
  };
  genre.addEventListener("change", () => fill().catch((error) => reportFailure(error, "the destinations")));
  const root = el("form", {
    class: "mix-form", "aria-label": "Mix path",
    onsubmit: (event) => {
      event.preventDefault();
      const query = new URLSearchParams({ from: track.id, to: other.value.trim() || to.value, length: length.value });
      location.hash = hashFor("mix", undefined, query);
    },
  },
    el("div", { class: "field" }, el("label", { for: "mix-genre" }, "Destinations from"), genre),
    el("div", { class: "field" }, el("label", { for: "mix-to" }, "To"), to),
    el("div", { class: "field" }, el("label", { for: "mix-id" }, "or a track id"), other),
    el("div", { class: "field" }, el("label", { for: "mix-length" }, "Tracks in the path (3–30)"), length),
    el("button", { type: "submit" }, "Walk"));
  return { root, after: () => fill().catch((error) => reportFailure(error, "the destinations")) };
}

async function showPath(target, params) {
  const query = new URLSearchParams(params);
  try {
    const body = await api("/mix", query);
    target.replaceChildren(
      el("h2", { id: "mix-h" }, `${body.data.length} tracks, from `, isolated(body.meta.from.name), " to ", isolated(body.meta.to.name)),
      el("p", { class: "hint" }, "Distance: how far each track is from the point it aims at, in the nine-feature space."),
      mixTable(body.data));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    reportFailure(error, "this mix path");
    target.replaceChildren(el("h2", { id: "mix-h" }, "No path"),
      el("p", { class: "failed mix-failed" }, error.message));
  }
}

function mixTable(steps) {
  const why = (part, text) => (part ? el("span", { class: "why" }, text) : null);
  const rows = steps.map((s) => {
    const t = s.track;
    const tempo = s.tempo && s.tempo.change_percent !== null
      ? `${s.tempo.relation}, ${s.tempo.change_percent > 0 ? "+" : ""}${fmt(s.tempo.change_percent, 1)} %` : "";
    return el("tr", { "data-id": t.id, "data-step": s.step },
      el("td", { class: "num", "data-label": "Step" }, String(s.step)),
      el("th", { scope: "row", "data-label": "Track" }, trackLink(t), el("span", { class: "description" }, isolated(artistsText(t)))),
      el("td", { "data-label": "Key", class: "mix-key" }, t.camelot ?? "–", why(s.key, s.key && s.key.relation)),
      el("td", { "data-label": "BPM", class: "mix-tempo" }, fmt(t.tempo, 1), why(s.tempo, tempo)),
      el("td", { class: "num", "data-label": "Distance" }, fmt(s.distance, 2)));
  });
  return el("div", { class: "table-wrap" },
    el("table", { class: "mix stack" },
      el("thead", {}, el("tr", {}, ["Step", "Track", "Key", "BPM", "Distance to aim"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

async function artistView(route) {
  const name = route.arg;
  const [found, related] = await Promise.all([
    api("/artists", new URLSearchParams({ q: name, limit: "100" })),
    api("/artists/related", new URLSearchParams({ name, limit: String(RELATED_LIMIT) })),
  ]);
  const artist = related.meta.artist;
  const others = found.data.filter((a) => a.name !== name).slice(0, 5);
  const unit = ["energy", "valence", "danceability", "acousticness", "instrumentalness"];
  return {
    title: name,
    nodes: [
      el("h1", { tabindex: "-1" }, isolated(name)),
      el("p", { class: "lead" }, `${artist.track_count.toLocaleString("en")} tracks in `,
        artist.genres.flatMap((g, n) => [n ? ", " : "", el("a", { href: hashFor("genre", g) }, g)]), ". ",
        el("a", { href: hashFor("search", undefined, new URLSearchParams({ artist: name })) }, "Search its tracks")),
      el("ul", { class: "artist-averages" }, unit.map((f) =>
        el("li", {}, el("span", {}, FEATURE_INFO[f].label), meter(artist[`avg_${f}`] ?? 0), el("span", { class: "num" }, fmt(artist[`avg_${f}`]))))),
      el("section", { class: "related", "aria-labelledby": "related-h" },
        el("h2", { id: "related-h" }, "Related artists"),
        el("p", { class: "hint" }, `Who is on the ${related.meta.neighbours_per_track} tracks nearest to each of its tracks (not its own): one vote per appearance.`),
        el("ol", { class: "track-list related-list" }, related.data.map((a) =>
          el("li", { "data-name": a.name }, el("a", { href: hashFor("artist", a.name) }, isolated(a.name)),
            el("span", { class: "distance" }, ` · ${a.votes} votes · ${a.track_count} tracks`))))),
      others.length ? el("p", { class: "hint" }, "Other names with this text: ",
        others.flatMap((a, n) => [n ? ", " : "", el("a", { href: hashFor("artist", a.name) }, isolated(a.name))])) : null,
    ].filter(Boolean),
  };
}
