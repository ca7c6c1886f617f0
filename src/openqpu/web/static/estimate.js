// The dry run of a submit, drawn: per circuit the method and its cost, then the queue.

import { fmt, h } from "./dom.js";

/** Seconds in the unit a person reads best: "< 1 ms", "35 ms", "4.2 s", "12.5 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 0.001) return "< 1 ms";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

function queueText(plan) {
  const ahead = plan.queue_position || 0;
  const place = ahead === 0 ? "it would run next"
    : `${fmt(ahead)} job${ahead === 1 ? "" : "s"} ahead of it in the queue`;
  const eta = plan.eta_seconds === null || plan.eta_seconds === undefined
    ? "no ETA yet (no recent run times on this device)"
    : `done in about ${duration(plan.eta_seconds)}`;
  return `${place}; ${eta}.`;
}

function row(entry) {
  const qubits = entry.physical_qubits;
  const cell = (name, value, attrs = {}) => h("td", { "data-field": name, ...attrs }, value);
  return h("tr", { "data-circuit": entry.index },
    h("th", { scope: "row" }, String(entry.index)),
    cell("method", h("code", {}, entry.method)),
    cell("seconds", duration(entry.estimated_seconds)),
    cell("success", fmt(entry.estimated_success_probability, 3)),
    cell("two-qubit-gates", fmt(entry.num_two_qubit_gates)),
    cell("depth", fmt(entry.depth)),
    cell("qubits", fmt(qubits ? qubits.length : entry.num_qubits),
      qubits ? { title: `physical qubits ${qubits.join(", ")}` } : {}));
}

/** The elements that show a dry-run document (`POST /api/v1/jobs` with `dry_run`). */
export function estimateView(plan) {
  const ruledOut = plan.circuits.flatMap((entry) =>
    Object.entries(entry.methods_rejected || {}).map(([method, why]) =>
      h("li", { "data-circuit": entry.index, "data-method": method },
        plan.circuits.length > 1 ? `circuit ${entry.index}, ` : "", h("code", {}, method), `: ${why}`)));
  return [
    h("h2", {}, "Estimate"),
    h("div", { class: "scroll" }, h("table", { class: "estimate-table" },
      h("thead", {}, h("tr", {}, ["Circuit", "Method", "Run time", "Success probability",
        "Two-qubit gates", "Depth", "Qubits"].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, plan.circuits.map(row)))),
    h("p", { "data-estimate": "total" },
      `${plan.circuits.length} circuit${plan.circuits.length === 1 ? "" : "s"}, ` +
      `${fmt(plan.shots)} shots each: about ${duration(plan.estimated_seconds)} of run time; `,
      h("span", { "data-estimate": "queue" }, queueText(plan))),
    ruledOut.length ? h("details", {}, h("summary", {}, "Methods ruled out"),
      h("ul", { class: "ruled-out" }, ruledOut)) : null,
  ];
}
