// The track view: a track's facts, its features against a genre (GET /compare: values and
// percentiles as bars), its Camelot key with harmonic matches (GET /tracks?harmonic_to=),
// and its similar tracks (GET /tracks/{id}/similar); links to its artists and to a mix path
// from it. #/track/<id>?genre=<genre> picks the genre to compare with; without it, the track's
// primary genre.
"use strict";

const SIMILAR_LIMIT = 10;
const HARMONIC_LIMIT = 10;

async function trackView(route) {
  const id = route.arg;
  const track = (await api(`/tracks/${encodeURIComponent(id)}`)).data;
  const genre = route.params.get("genre") || track.genre_id;
  const answers = await Promise.allSettled([
    api("/compare", new URLSearchParams({ track_id: id, genre })),
    api("/tracks", new URLSearchParams({ harmonic_to: id, genre, limit: String(HARMONIC_LIMIT + 1) })),
    api(`/tracks/${encodeURIComponent(id)}/similar`, new URLSearchParams({ limit: String(SIMILAR_LIMIT) })),
    genres(),
  ]);
  const [comparison, harmonic, similar, genreList] = answers;
  const failed = answers.find((a) => a.status === "rejected");
  const known = genreList.status === "fulfilled" ? genreList.value : [];
  const genreName = known.find((g) => g.id === genre)?.name ?? genre;
  return {
    title: track.name ?? id,
    nodes: [
      el("h1", { tabindex: "-1" }, isolated(track.name ?? "(no name)")),
      el("p", { class: "lead" }, "by ", artistLinks(track),
        track.album ? [" · from the album ", isolated(track.album)] : ""),
      el("p", {}, el("a", { class: "walk-mix", href: hashFor("mix", undefined, new URLSearchParams({ from: id })) },
        "Walk a mix path from this track"), " · DJ-mixable with it: ",
        el("a", { href: hashFor("search", undefined, new URLSearchParams({ harmonic_to: id, bpm_of: id })) },
          "same key family, tempo within 6 %")),
      trackFacts(track, known),
      el("section", { class: "compare", "aria-labelledby": "compare-h" },
        el("h2", { id: "compare-h" }, "Against a genre"),
        genreChooser(track, genre, genreList),
        section(comparison, (body) => compareBars(body.data))),
      el("div", { class: "track-lists" },
        el("section", { class: "harmonic", "aria-labelledby": "harmonic-h" },
          el("h2", { id: "harmonic-h" }, "Key and harmonic matches"),
          keyText(track) === "no key"
            ? el("p", {}, "No key was detected, so there is no Camelot code to match.")
            : section(harmonic, (body) => harmonicMatches(track, genre, genreName, body))),
        el("section", { class: "similar", "aria-labelledby": "similar-h" },
          el("h2", { id: "similar-h" }, "Similar tracks"),
          el("p", { class: "hint" }, "Nearest in the nine audio features, from every genre; ",
            "a lower distance is closer."),
          section(similar, (body) => similarTracks(body.data)))),
    ],
    after: () => failed && reportFailure(failed.reason, "part of this track's page"),
  };
}

/** Each artist of the track as a link to the artist's view. */
function artistLinks(track) {
  const names = (track.artists ?? "").split(";").map((n) => n.trim()).filter(Boolean);
  if (!names.length) return "unknown artists";
  return names.flatMap((n, i) => [i ? ", " : "", el("a", { href: hashFor("artist", n), class: "artist" }, isolated(n))]);
}

/** A section's content from a settled request, or a plain line saying it failed. */
function section(answer, show) {
  if (answer.status === "fulfilled") return show(answer.value);
  return el("p", { class: "failed" }, `Could not load this part: ${answer.reason.message}.`);
}

function trackFacts(track, known) {
  const name = (id) => known.find((g) => g.id === id)?.name ?? id;
  const facts = [
    ["Genres", track.genres.flatMap((g, n) => [n ? ", " : "", el("a", { href: hashFor("genre", g) }, name(g))])],
    ["Key", keyText(track)],
    ["Mood", el("span", { class: `mood-name mood-${track.mood}` }, track.mood)],
    ["Tempo", fmtFeature("tempo", track.tempo)],
    ["Duration", fmtDuration(track.duration_ms)],
    ["Popularity", String(track.popularity)],
    ["Explicit", track.explicit ? "yes" : "no"],
  ];
  return el("dl", { class: "facts" }, facts.map(([term, value]) => el("div", {}, el("dt", {}, term), el("dd", {}, value))));
}

function genreChooser(track, genre, genreList) {
  const all = genreList.status === "fulfilled" ? genreList.value : [];
  const own = new Set(track.genres);
  const option = (g) => el("option", { value: g.id, selected: g.id === genre }, g.name);
  const select = el("select", {
    id: "compare-genre",
    onchange: () => (location.hash = hashFor("track", track.id, new URLSearchParams({ genre: select.value }))),
  },
    el("optgroup", { label: "Its genres" }, all.filter((g) => own.has(g.id)).map(option)),
    el("optgroup", { label: "Other genres" }, all.filter((g) => !own.has(g.id)).map(option)));
  return el("div", { class: "field inline-field" }, el("label", { for: "compare-genre" }, "Compare with"), select);
}

function compareBars(data) {
  return el("div", {},
    el("p", { class: "hint" },
      `Each bar is the track's percentile among the ${data.genre.track_count.toLocaleString("en")} `,
      `tracks of ${data.genre.name}; the line marks the median.`),
    el("ul", { class: "compare-bars" },
      Object.entries(data.comparison).map(([feature, c]) =>
        el("li", { "data-feature": feature },
          el("span", { class: "feature" }, FEATURE_INFO[feature].label),
          percentileBar(feature, c.percentile),
          el("span", { class: "reading" },
            el("strong", {}, fmtFeature(feature, c.track_value)),
            ` vs ${fmtFeature(feature, c.genre_avg)} average · `,
            el("span", { class: "pct" }, c.percentile === null ? "–" : `${fmt(c.percentile, 1)} percentile`),
            `, ${c.percentile_label ?? "no label"}`)))));
}


function harmonicMatches(track, genre, genreName, body) {
  const others = body.data.filter((t) => t.id !== track.id).slice(0, HARMONIC_LIMIT);
  const more = new URLSearchParams({ harmonic_to: track.id, genre });
  return el("div", {},
    el("p", {}, `Camelot ${track.camelot} mixes with ${HARMONIC[track.camelot].filter((c) => c !== track.camelot).join(", ")}. `,
      `${(body.meta.total - 1).toLocaleString("en")} other tracks of ${genreName} do; the most popular:`),
    el("ol", { class: "track-list" },
      others.map((t) => el("li", {}, trackLink(t, genre), " · ", isolated(artistsText(t)), ` · ${t.camelot}`))),
    el("p", {}, el("a", { href: hashFor("search", undefined, more) }, "All of them in the search")));
}

function similarTracks(tracks) {
  if (!tracks.length) return el("p", {}, "No similar track found.");
  return el("ol", { class: "track-list similar-list" },
    tracks.map((t) => el("li", { "data-id": t.id }, trackLink(t), " · ", isolated(artistsText(t)), ` · ${t.genre_name}`,
      el("span", { class: "distance" }, ` · distance ${fmt(t.distance, 2)}`))));
}
