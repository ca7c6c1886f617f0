// The composer's live state: probabilities of the basis states as bars, and amplitudes
// as discs (area: magnitude; hand and colour: phase), from POST /api/v1/preview.

import { fmt, h, s } from "./dom.js";

// Beyond this many basis states only the likeliest are drawn (in index order).
const SHOWN = 32;
const TINY = 1e-10;

/** A basis state's label, qubit n-1 first (Qiskit's order: qubit 0 is the rightmost). */
export function ket(index, numQubits) {
  return index.toString(2).padStart(numQubits, "0");
}

/** The hue of a phase in radians: 0 red, π/2 yellow-green, π cyan, -π/2 violet. */
function hue(phase) {
  return Math.round(((phase * 180) / Math.PI + 360) % 360);
}

function phaseText(phase) {
  return `${fmt(phase / Math.PI, 3)}π`;
}

/** Which basis states to draw: all of a small register, else the likeliest. */
function chosen(preview) {
  const all = preview.probabilities.map((p, i) => [i, p]);
  if (all.length <= SHOWN) return all.map(([i]) => i);
  return all.filter(([, p]) => p > TINY).sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
    .map(([i]) => i).sort((a, b) => a - b);
}

function bars(preview, states) {
  const n = preview.num_qubits;
  const width = Math.max(600, states.length * 26), height = 150, bottom = 14 + 7 * n, top = 16;
  const step = width / states.length;
  const barWidth = Math.min(step * 0.7, 48);
  const svg = s("svg", { class: "probabilities", viewBox: `0 0 ${width} ${height + bottom}`,
    role: "img", "aria-label": `Probabilities of ${states.length} basis states` });
  states.forEach((index, k) => {
    const p = preview.probabilities[index];
    const barHeight = p * (height - top);
    const w = barWidth, x = k * step + (step - w) / 2;
    const label = ket(index, n);
    svg.append(s("g", { class: "prob", "data-state": label, "data-probability": p },
      s("title", {}, `|${label}⟩: ${fmt(p, 4)}`),
      s("rect", { x, y: height - barHeight, width: w, height: Math.max(barHeight, p > TINY ? 1 : 0) }),
      p > TINY ? s("text", { class: "value", x: x + w / 2, y: height - barHeight - 4, "text-anchor": "middle" },
        fmt(p, 2)) : null,
      s("text", { class: "state", x: x + w / 2, y: height + 6, "text-anchor": "end",
        transform: `rotate(-90 ${x + w / 2} ${height + 6})` }, label)));
  });
  svg.append(s("line", { class: "axis", x1: 0, x2: width, y1: height, y2: height }));
  return svg;
}

function discs(preview, states) {
  const n = preview.num_qubits, size = 44, columns = Math.min(states.length, 8);
  const rows = Math.ceil(states.length / columns);
  const svg = s("svg", { class: "amplitudes", viewBox: `0 0 ${columns * size} ${rows * (size + 14)}`,
    role: "img", "aria-label": "Amplitudes: disc area is the magnitude, the hand and colour the phase" });
  states.forEach((index, k) => {
    const [re, im] = preview.amplitudes[index];
    const magnitude = Math.hypot(re, im), phase = Math.atan2(im, re);
    const cx = (k % columns) * size + size / 2, cy = Math.floor(k / columns) * (size + 14) + size / 2;
    const r = (size / 2 - 4) * magnitude;
    const label = ket(index, n);
    svg.append(s("g", { class: "amp", "data-state": label, "data-magnitude": magnitude, "data-phase": phase },
      s("title", {}, `|${label}⟩: ${fmt(re, 3)} ${im < 0 ? "-" : "+"} ${fmt(Math.abs(im), 3)}i ` +
        `(magnitude ${fmt(magnitude, 3)}, phase ${phaseText(phase)})`),
      s("circle", { class: "outline", cx, cy, r: size / 2 - 4 }),
      magnitude > TINY ? [
        s("circle", { cx, cy, r, fill: `hsl(${hue(phase)} 70% 50%)` }),
        s("line", { class: "hand", x1: cx, y1: cy, x2: cx + r * Math.cos(phase), y2: cy - r * Math.sin(phase) }),
      ] : null,
      s("text", { x: cx, y: cy + size / 2 + 9, "text-anchor": "middle" }, label)));
  });
  return svg;
}

function table(preview, states) {
  const n = preview.num_qubits;
  return h("details", {}, h("summary", {}, "As a table"),
    h("div", { class: "scroll" }, h("table", { class: "state-table" },
      h("thead", {}, h("tr", {}, ["state", "probability", "amplitude", "phase"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, states.map((index) => {
        const [re, im] = preview.amplitudes[index];
        return h("tr", { "data-state": ket(index, n) },
          h("th", { scope: "row" }, h("code", {}, `|${ket(index, n)}⟩`)),
          h("td", {}, fmt(preview.probabilities[index], 4)),
          h("td", {}, `${fmt(re, 4)} ${im < 0 ? "−" : "+"} ${fmt(Math.abs(im), 4)}i`),
          h("td", {}, Math.hypot(re, im) > TINY ? phaseText(Math.atan2(im, re)) : "–"));
      })))));
}

/** The elements that show a preview document. */
export function liveStateView(preview) {
  const states = chosen(preview);
  const total = preview.probabilities.length;
  return [
    h("p", { class: "muted" }, `${preview.num_qubits} qubit${preview.num_qubits === 1 ? "" : "s"}; ` +
      (states.length < total ? `the ${states.length} likeliest of ${fmt(total)} basis states, ` : "") +
      "qubit 0 is the rightmost digit; final measurements left out."),
    h("figure", { class: "chart" }, h("figcaption", {}, "Probabilities"),
      h("div", { class: "scroll" }, bars(preview, states))),
    h("figure", { class: "chart" }, h("figcaption", {}, "Amplitudes (area: magnitude; hand and colour: phase)"),
      h("div", { class: "scroll" }, discs(preview, states))),
    table(preview, states),
  ];
}
