// Line charts and histograms drawn as SVG.

import { fmt, h, isNarrow, s } from "./dom.js";

// Drawn in fewer user units on a phone, so that text keeps a readable size.
const chartWidth = () => (isNarrow() ? 360 : 560);

/**
 * A line chart of one or more series over the same x labels.
 * series: [{name, values: [number|null], cls}]; labels: [string].
 */
export function lineChart(labels, series, { title, height = 180, digits = 3, zero = false } = {}) {
  const width = chartWidth(), left = 52, right = 12, top = 14, bottom = 28;
  const all = series.flatMap((one) => one.values).filter((v) => v !== null && v !== undefined);
  const figure = h("figure", { class: "chart" }, title && h("figcaption", {}, title));
  if (!labels.length || !all.length) {
    figure.append(h("p", { class: "muted" }, "No data yet."));
    return figure;
  }
  if (labels.length === 1) {  // one day: a line needs two points; bars with their values read
    figure.append(singleDay(labels[0], series, { height, digits }));
    return figure;
  }
  let low = Math.min(...all, ...(zero ? [0] : [])), high = Math.max(...all);
  if (low === high) { const pad = Math.abs(low) * 0.01 || 1; low -= pad; high += pad; }
  const x = (i) => left + (labels.length === 1 ? (width - left - right) / 2
    : (i * (width - left - right)) / (labels.length - 1));
  const y = (v) => top + ((high - v) * (height - top - bottom)) / (high - low);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "line-chart", role: "img",
    "aria-label": title || "chart" });
  for (const tick of [low, (low + high) / 2, high]) {
    svg.append(s("line", { class: "grid", x1: left, x2: width - right, y1: y(tick), y2: y(tick) }),
      s("text", { class: "tick", x: left - 6, y: y(tick) + 4, "text-anchor": "end" }, fmt(tick, digits)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % step === 0 || i === labels.length - 1) {
      svg.append(s("text", { class: "tick", x: x(i), y: height - 8, "text-anchor": "middle" }, label));
    }
  });
  series.forEach((one, k) => {
    const points = one.values.map((v, i) => (v === null || v === undefined ? null : [x(i), y(v)]))
      .filter(Boolean);
    svg.append(s("polyline", { class: `series series-${k}`,
      points: points.map((p) => p.join(",")).join(" ") }));
    one.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      svg.append(s("circle", { class: `dot series-${k}`, cx: x(i), cy: y(v), r: 3 },
        s("title", {}, `${one.name} ${labels[i]}: ${fmt(v, digits)}`)));
    });
  });
  figure.append(svg);
  if (series.length > 1) {
    figure.append(h("p", { class: "key" }, series.map((one, k) =>
      h("span", { class: `swatch series-${k}` }, one.name))));
  }
  return figure;
}

/** The values of one x label as labelled vertical bars, one per series. */
function singleDay(label, series, { height, digits }) {
  const width = chartWidth(), top = 18, bottom = 28, left = 12;
  const values = series.map((one) => one.values[0] ?? 0);
  const high = Math.max(1, ...values);
  const slot = (width - 2 * left) / Math.max(series.length, 2);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "line-chart single-day", role: "img",
    "aria-label": series.map((one, k) => `${one.name} ${label}: ${fmt(values[k], digits)}`).join("; ") });
  svg.append(s("line", { class: "grid", x1: left, x2: width - left, y1: height - bottom, y2: height - bottom }));
  series.forEach((one, k) => {
    const barHeight = ((height - top - bottom) * values[k]) / high;
    const x = left + slot * k + slot * 0.2, w = slot * 0.6;
    svg.append(s("g", { class: "day-bar", "data-series": one.name, "data-value": values[k] },
      s("rect", { class: `series-${k}`, x, y: height - bottom - barHeight, width: w, height: barHeight }),
      s("text", { class: "tick value", x: x + w / 2, y: height - bottom - barHeight - 5, "text-anchor": "middle" },
        fmt(values[k], digits)),
      s("text", { class: "tick", x: x + w / 2, y: height - 8, "text-anchor": "middle" }, `${one.name}, ${label}`)));
  });
  return svg;
}

/**
 * Counts as horizontal bars, most frequent first; beyond `top` the rest is one bar.
 * Returns a figure whose bars carry data-outcome and data-count.
 */
export function histogram(counts, { top = 16, title = "Counts" } = {}) {
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = sorted.slice(0, top);
  const rest = sorted.slice(top).reduce((sum, [, n]) => sum + n, 0);
  if (rest > 0) shown.push([`rest (${sorted.length - top})`, rest]);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0) || 1;
  const most = Math.max(1, ...shown.map(([, n]) => n));
  const row = 22, label = Math.max(48, 9 * Math.max(...shown.map(([k]) => k.length), 2));
  const width = chartWidth();
  const barSpace = width - label - 90;
  const svg = s("svg", { viewBox: `0 0 ${width} ${row * shown.length + 4}`, class: "histogram",
    role: "img", "aria-label": title });
  shown.forEach(([outcome, n], i) => {
    const isRest = rest > 0 && i === shown.length - 1;
    const w = Math.max(1, (n / most) * barSpace);
    svg.append(s("g", { class: isRest ? "bar rest" : "bar", "data-outcome": isRest ? "rest" : outcome,
      "data-count": n, transform: `translate(0 ${i * row + 2})` },
    s("title", {}, `${outcome}: ${n} (${((100 * n) / total).toFixed(1)} %)`),
    s("text", { class: "outcome", x: label - 6, y: 15, "text-anchor": "end" }, outcome),
    s("rect", { x: label, y: 2, width: w, height: row - 6, rx: 2 }),
    s("text", { class: "count", x: label + w + 6, y: 15 },
      `${n} (${((100 * n) / total).toFixed(1)} %)`)));
  });
  return h("figure", { class: "chart" }, h("figcaption", {}, title), svg);
}
