// A chip drawn as its lattice: qubits coloured by a calibration metric, couplers by CZ error.

import { fmt, h, isNarrow, s } from "./dom.js";

export const METRICS = {
  t1: { label: "T1 (µs)", value: (c, q) => c.t1_us[q], digits: 3 },
  t2: { label: "T2 (µs)", value: (c, q) => c.t2_us[q], digits: 3 },
  readout: { label: "Readout fidelity",
    value: (c, q) => 1 - (c.readout_error_0to1[q] + c.readout_error_1to0[q]) / 2, digits: 4 },
  gate1q: { label: "1q gate fidelity", value: (c, q) => 1 - c.gate_error_1q[q], digits: 4 },
};

const pairKey = (a, b) => (a < b ? `${a}-${b}` : `${b}-${a}`);

/** Colour for a value in [low, high]; `better` says which end is good. */
function colour(value, low, high, better = "high") {
  let t = high > low ? (value - low) / (high - low) : 1;
  if (better === "low") t = 1 - t;
  return `hsl(${Math.round(4 + 126 * t)} 68% 44%)`;
}

function range(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [0, 1];
}

function legendBar(svgX, y, label, low, high, better, digits) {
  const id = `grad-${label.replace(/\W+/g, "")}-${Math.random().toString(36).slice(2, 7)}`;
  const stops = [0, 0.5, 1].map((t) => s("stop", { offset: t,
    "stop-color": colour(low + t * (high - low), low, high, better) }));
  return s("g", { class: "legend", transform: `translate(${svgX} ${y})` },
    s("defs", {}, s("linearGradient", { id }, stops)),
    s("text", { x: 0, y: 10 }, label),
    s("rect", { x: 0, y: 16, width: 150, height: 10, fill: `url(#${id})` }),
    s("text", { x: 0, y: 40 }, fmt(low, digits)),
    s("text", { x: 150, y: 40, "text-anchor": "end" }, fmt(high, digits)));
}

/**
 * The lattice of a chip.
 *
 * device: the API's device (topology rows, cols, couplers); calibration: the full snapshot;
 * metric: a key of METRICS; highlight: physical qubits to mark, with their logical index.
 */
export function lattice(device, calibration, { metric = "t1", highlight = [], narrow = isNarrow() } = {}) {
  const { rows, cols, couplers } = device.topology;
  const step = 46, pad = 26;
  // The long side of the chip runs across the screen, except on a phone.
  const across = narrow ? Math.min(rows, cols) : Math.max(rows, cols);
  const rowsAcross = across === rows;
  const pos = (q) => {
    const row = Math.floor(q / cols), col = q % cols;
    return rowsAcross ? [pad + row * step, pad + col * step] : [pad + col * step, pad + row * step];
  };
  const width = pad * 2 + (across - 1) * step;
  const height = pad * 2 + ((rowsAcross ? cols : rows) - 1) * step;
  const stacked = width < 430;  // legends one under the other when the chip is narrow
  const legendHeight = stacked ? 150 : 56;
  const disabledQubits = new Set(calibration.disabled_qubits || []);
  // A coupler is out of service when listed, or when a qubit at either end is.
  const disabledCouplers = new Set((calibration.disabled_couplers || []).map(([a, b]) => pairKey(a, b)));
  for (const [a, b] of couplers) {
    if (disabledQubits.has(a) || disabledQubits.has(b)) disabledCouplers.add(pairKey(a, b));
  }
  const czError = new Map((calibration.couplers || []).map(([a, b], i) => [pairKey(a, b),
    calibration.cz_error[i]]));
  const chosen = METRICS[metric] || METRICS.t1;
  const numQubits = rows * cols;
  const values = Array.from({ length: numQubits }, (_, q) => chosen.value(calibration, q));
  const [low, high] = range(values.filter((_, q) => !disabledQubits.has(q)));
  const czFid = couplers.filter(([a, b]) => !disabledCouplers.has(pairKey(a, b)))
    .map(([a, b]) => 1 - czError.get(pairKey(a, b)));
  const [czLow, czHigh] = range(czFid);
  const used = new Map(highlight.map((physical, logical) => [physical, logical]));

  const svg = s("svg", { class: "lattice", viewBox: `0 0 ${Math.max(width, stacked ? 200 : 430)} ${height + legendHeight}`,
    role: "img", "aria-label": `${device.name}: ${numQubits} qubits, ${couplers.length} couplers` });
  for (const [a, b] of couplers) {
    const [x1, y1] = pos(a), [x2, y2] = pos(b);
    const key = pairKey(a, b);
    const off = disabledCouplers.has(key);
    const fidelity = 1 - czError.get(key);
    svg.append(s("line", { class: off ? "coupler disabled" : "coupler", "data-coupler": key,
      x1, y1, x2, y2, stroke: off ? null : colour(fidelity, czLow, czHigh) },
    s("title", {}, off ? `coupler ${a}–${b}: disabled`
      : `coupler ${a}–${b}: CZ fidelity ${fmt(fidelity, 4)} (error ${fmt(czError.get(key), 3)})`)));
  }
  for (let q = 0; q < numQubits; q++) {
    const [cx, cy] = pos(q);
    const off = disabledQubits.has(q);
    const classes = ["qubit", off && "disabled", used.has(q) && "used"].filter(Boolean).join(" ");
    const lines = [`qubit ${q}${off ? " (disabled)" : ""}`,
      `T1 ${fmt(calibration.t1_us[q])} µs, T2 ${fmt(calibration.t2_us[q])} µs`,
      `readout error P(1|0) ${fmt(calibration.readout_error_0to1[q])}, P(0|1) ${fmt(calibration.readout_error_1to0[q])}`,
      `1q gate error ${fmt(calibration.gate_error_1q[q])}`];
    if (used.has(q)) lines.push(`holds logical qubit ${used.get(q)}`);
    svg.append(s("circle", { class: classes, "data-qubit": q, cx, cy, r: 14,
      fill: off ? null : colour(values[q], low, high) }, s("title", {}, lines.join("\n"))));
    svg.append(s("text", { class: "qubit-label", x: cx, y: cy + 4, "text-anchor": "middle" },
      used.has(q) ? `q${used.get(q)}` : q));
  }
  const at = (k) => (stacked ? [pad, height + 4 + 48 * k] : [pad + 180 * k, height + 4]);
  svg.append(legendBar(...at(0), `Qubits: ${chosen.label}`, low, high, "high", chosen.digits),
    legendBar(...at(1), "Couplers: CZ fidelity", czLow, czHigh, "high", 4),
    s("g", { class: "legend", transform: `translate(${at(2).join(" ")})` },
      s("text", { x: 0, y: 10 }, "Disabled"),
      s("circle", { class: "qubit disabled", cx: 10, cy: 30, r: 8 }),
      s("line", { class: "coupler disabled", x1: 26, y1: 30, x2: 60, y2: 30 })));
  return svg;
}

/** The per-qubit numbers of a snapshot as a table (the drawing's data, for keyboards and readers). */
export function calibrationTable(calibration) {
  const rows = calibration.t1_us.map((t1, q) => h("tr", {},
    h("td", {}, q), h("td", {}, fmt(t1)), h("td", {}, fmt(calibration.t2_us[q])),
    h("td", {}, fmt(calibration.readout_error_0to1[q])), h("td", {}, fmt(calibration.readout_error_1to0[q])),
    h("td", {}, fmt(calibration.gate_error_1q[q])),
    h("td", {}, (calibration.disabled_qubits || []).includes(q) ? "disabled" : "")));
  return h("details", {}, h("summary", {}, "Per-qubit calibration table"),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {},
      ["qubit", "T1 µs", "T2 µs", "P(1|0)", "P(0|1)", "1q error", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows))));
}
