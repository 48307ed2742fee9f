// DOM helpers and the hand-drawn SVG charts of the kapiko explorer (app.js uses them).
// Charts are plain SVG built with the DOM API: no library, nothing loaded from anywhere.
// Text always goes in as text nodes, never as HTML, so names from the data cannot inject markup.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

// How each field is shown and filtered: its label, unit, slider bounds and step, and `scale`,
// the factor between a histogram bucket label and the value (0-1 features are bucketed in per
// cent). Filled from the API's field catalogue (GET /api/v1/fields) before any view is drawn.
const FEATURE_INFO = {};

/** Fill FEATURE_INFO from the entries of GET /fields. */
function learnFields(fields) {
  for (const f of fields) {
    const c = f.constraints;
    FEATURE_INFO[f.name] = {
      label: f.label,
      unit: f.unit === "ms" ? null : f.unit, // durations are shown as m:ss
      min: c.minimum ?? c.exclusiveMinimum ?? 0,
      // Where the API has no upper bound, the slider stops at slider_max (its end = no limit).
      max: c.maximum ?? f.display.slider_max,
      step: f.display.step,
      digits: f.display.digits,
      scale: f.histogram ? f.histogram.scale : 1,
      duration: f.unit === "ms",
    };
  }
}

/** An HTML element: el("a", {href: "#/"}, "text", childNode); null and false are skipped. */
function el(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, like el(). */
function svgEl(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A number with a fixed count of decimals, or an en dash for null. */
function fmt(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Milliseconds as m:ss. */
function fmtDuration(ms) {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** A field's value as people read it: its unit, or m:ss for a duration. */
function fmtFeature(name, value) {
  const info = FEATURE_INFO[name] || {};
  if (info.duration) return fmtDuration(value);
  const text = fmt(value, info.digits ?? 3);
  return info.unit ? `${text} ${info.unit}` : text;
}

/** A histogram of one feature's buckets ([{bucket, count}] from /genres/{genre}). */
function histogram(feature, buckets) {
  const info = FEATURE_INFO[feature];
  const [width, height, left, right, top, bottom] = [320, 160, 34, 16, 10, 26];
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  // Buckets are labelled by their lower edge; all of a feature's buckets have the same width.
  const step = buckets.length > 1 ? buckets[1].bucket - buckets[0].bucket : 10;
  const barW = plotW / buckets.length;
  const edge = (label) => label / info.scale;
  const digits = info.scale === 100 ? 1 : 0;
  const bars = buckets.map((b, i) => {
    const h = (plotH * b.count) / max;
    const range = `${fmt(edge(b.bucket), digits)} to ${fmt(edge(b.bucket + step), digits)}`;
    return svgEl(
      "rect",
      {
        class: "bar",
        x: (left + i * barW + 0.5).toFixed(2),
        y: (top + plotH - h).toFixed(2),
        width: Math.max(barW - 1, 0.5).toFixed(2),
        height: h.toFixed(2),
        "data-count": b.count,
      },
      svgEl("title", {}, `${range}${info.unit ? " " + info.unit : ""}: ${b.count} tracks`),
    );
  });
  // At most six labelled edges along the x axis, always including both ends.
  const every = Math.ceil(buckets.length / 5);
  const ticks = [];
  for (let i = 0; i <= buckets.length; i += 1) {
    if (i % every !== 0 && i !== buckets.length) continue;
    if (i !== buckets.length && buckets.length - i < every) continue; // too close to the end
    const label = buckets[0].bucket + i * step;
    ticks.push(
      svgEl(
        "text",
        { x: left + i * barW, y: height - 6, class: "tick", "text-anchor": "middle" },
        fmt(edge(label), digits),
      ),
    );
  }
  const peak = buckets.reduce((best, b) => (b.count > best.count ? b : best), buckets[0]);
  const summary =
    `Histogram of ${info.label.toLowerCase()}: ${buckets.length} buckets; the most tracks, ` +
    `${peak.count}, are from ${fmt(edge(peak.bucket), digits)} to ` +
    `${fmt(edge(peak.bucket + step), digits)}${info.unit ? " " + info.unit : ""}.`;
  return svgEl(
    "svg",
    { class: "histogram", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    svgEl("line", { class: "axis", x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }),
    svgEl("text", { class: "tick", x: left - 4, y: top + 10, "text-anchor": "end" }, String(max)),
    svgEl("text", { class: "tick", x: left - 4, y: top + plotH, "text-anchor": "end" }, "0"),
    bars,
    ticks,
  );
}

/** A small horizontal bar of value / max (the genre averages at a glance). */
function meter(value, max = 1) {
  const share = Math.max(0, Math.min(1, value / max));
  return svgEl(
    "svg",
    { class: "meter", viewBox: "0 0 100 8", preserveAspectRatio: "none", "aria-hidden": "true" },
    svgEl("rect", { class: "meter-track", width: 100, height: 8 }),
    svgEl("rect", { class: "meter-fill", width: (share * 100).toFixed(2), height: 8 }),
  );
}

/** A track's percentile within a genre as a bar from 0 to 100, with the median marked. */
function percentileBar(feature, percentile) {
  const value = percentile ?? 0;
  return svgEl(
    "svg",
    {
      class: "percentile",
      viewBox: "0 0 100 12",
      preserveAspectRatio: "none",
      "aria-hidden": "true",
    },
    svgEl("rect", { class: "meter-track", width: 100, height: 12 }),
    svgEl("rect", {
      class: "pct-bar",
      width: value.toFixed(1),
      height: 12,
      "data-feature": feature,
      "data-percentile": value,
    }),
    svgEl("line", { class: "median", x1: 50, x2: 50, y1: 0, y2: 12 }),
  );
}
