// What the submit page and the composer share: the job's options (device, shots,
// optimisation level, method, kind and observables, mitigation), the server's estimate of a job before it is
// submitted (the dry run of POST /api/v1/jobs), and a source error drawn under its line.

import { ApiError, api } from "./api.js";
import { h, pageLink } from "./dom.js";
import { estimateView } from "./estimate.js";
import { mitigationOptions } from "./mitigation.js";

const METHODS = [["auto", "auto (cheapest exact or bounded)"], ["density_matrix", "density matrix"],
  ["stabilizer", "stabilizer"], ["mps", "matrix product state"], ["statevector", "statevector trajectories"]];
const CHIP_ONLY_METHODS = new Set(["density_matrix", "stabilizer", "mps"]);
// Edits settle for this long before the estimate is asked for again.
const ESTIMATE_DELAY_MS = 600;

export function field(label, id, control, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint && h("small", { class: "muted" }, hint));
}

/** The lines around `body.line` of `source` with the server's error written under it. */
export function errorAtLine(source, body) {
  const lines = source.split("\n");
  const line = Math.min(Math.max(body.line, 1), lines.length);
  const first = Math.max(1, line - 2), last = Math.min(lines.length, line + 2);
  const items = [];
  for (let n = first; n <= last; n++) {
    const isError = n === line;
    items.push(h("li", { value: n, class: isError ? "error-line" : null, "data-line": n },
      h("code", {}, lines[n - 1] || " ")));
    if (isError) {
      const column = body.column ? `, column ${body.column}` : "";
      items.push(h("li", { class: "error-note", role: "alert", "data-error-line": line },
        body.column ? h("code", { class: "caret", "aria-hidden": "true" },
          `${" ".repeat(Math.max(0, body.column - 1))}^`) : null,
        h("span", {}, `Line ${line}${column}: ${body.detail}`)));
    }
  }
  return h("div", { class: "source-error" }, h("ol", { class: "source-excerpt" }, items));
}

/** Select line `line` of a textarea (after an error, so the keyboard lands on it). */
export function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

/**
 * The job's options as form controls, and the request body they make for a source.
 * Returns {fields: [rows of elements], device, body(source, format)}.
 */
export function jobOptions(devices) {
  const device = h("select", { id: "device", name: "device" },
    devices.map((d) => h("option", { value: d.name }, `${d.name} (${d.num_qubits} qubits, ${d.status})`)));
  const shots = h("input", { id: "shots", name: "shots", type: "number", min: 1, value: 1000, required: true });
  const level = h("select", { id: "level", name: "optimization_level" },
    h("option", { value: "", selected: true }, "server default"),
    [0, 1, 2, 3].map((n) => h("option", { value: n }, String(n))));
  const mitigation = h("input", { id: "mitigation", name: "mitigation", type: "checkbox" });
  const method = h("select", { id: "method", name: "method" },
    METHODS.map(([value, label]) => h("option", { value }, label)));
  const mitigated = mitigationOptions(mitigation);
  const chipOnly = () => {
    const chosen = devices.find((d) => d.name === device.value);
    const simulator = !chosen || chosen.simulator;
    level.disabled = simulator;
    mitigated.update(!simulator);
    for (const option of method.options) option.disabled = simulator && CHIP_ONLY_METHODS.has(option.value);
    if (method.selectedOptions[0] && method.selectedOptions[0].disabled) method.value = "auto";
  };
  device.addEventListener("change", chipOnly);
  chipOnly();
  const body = (source, format) => {
    const request = { device: device.value, circuits: [source], format, shots: Number(shots.value) };
    if (!level.disabled && level.value !== "") request.optimization_level = Number(level.value);
    if (!mitigation.disabled && mitigation.checked) request.mitigation = "readout";
    if (method.value !== "auto") request.method = method.value;
    return mitigated.apply(request);
  };
  const options = h("div", { class: "job-options" }, h("div", { class: "row" },
    field("Shots", "shots", shots),
    field("Optimisation level", "level", level, "chips only"),
    field("Simulation method", "method", method, "chips; simulators: auto or statevector"),
    field("Job kind", "kind", mitigated.kind),
    h("div", { class: "field check" }, mitigation, h("label", { for: "mitigation" }, "Readout mitigation"))),
  ...mitigated.parts);
  return { device, options, body };
}

/**
 * The estimate of a job before it is submitted: asked for after edits settle (`soon`), or
 * at once (`now`); a newer request aborts an older one, so only the answer for what is on
 * screen is drawn. `body()` gives the job's request body, or null when there is no source.
 */
export function estimatePanel({ body, signal, empty }) {
  const element = h("section", { class: "card estimate", id: "estimate", "aria-live": "polite",
    "data-state": "empty" });
  let timer = null;
  let pending = null;
  const show = (state, ...children) => {
    element.dataset.state = state;
    element.replaceChildren(...children.filter((child) => child !== null));
  };
  const now = async () => {
    clearTimeout(timer);
    if (pending) pending.abort();
    const request = body();
    if (!request) {
      show("empty", h("h2", {}, "Estimate"), h("p", { class: "muted" }, empty));
      return;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener("abort", stop, { once: true });
    pending = controller;
    element.dataset.state = "busy";
    try {
      const plan = await api("jobs", { method: "POST", body: { ...request, dry_run: true },
        signal: controller.signal });
      show("ready", ...estimateView(plan));
    } catch (error) {
      if (controller.signal.aborted) return;
      const message = error instanceof ApiError && error.body.field && !error.body.line
        ? `${error.body.field}: ${error.message}` : error.message;
      show("refused", h("h2", {}, "Estimate"),
        h("p", { class: "error", role: "alert", "data-estimate": "refused" },
          error instanceof ApiError ? `The server would refuse this job: ${message}`
            : `No estimate: ${message}`));
    } finally {
      signal.removeEventListener("abort", stop);
      if (pending === controller) pending = null;
    }
  };
  const soon = () => {
    clearTimeout(timer);
    element.dataset.state = body() ? "stale" : element.dataset.state;
    timer = setTimeout(now, ESTIMATE_DELAY_MS);
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return { element, now, soon };
}

/**
 * Submit a job and go to its page; a refusal is shown in `outcome` (under its line when
 * it names one, with `textarea`'s line selected). Returns when the request is answered.
 */
export async function submitJob(request, { outcome, textarea, signal }) {
  outcome.replaceChildren();
  try {
    const job = await api("jobs", { method: "POST", body: request, signal });
    location.hash = pageLink("jobs", job.id);
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof ApiError && error.body.line) {
      outcome.append(errorAtLine(textarea.value, error.body));
      selectLine(textarea, error.body.line);
    } else {
      const message = !(error instanceof ApiError) ? `Could not submit: ${error.message}`
        : error.body.field ? `${error.body.field}: ${error.message}` : error.message;
      outcome.append(h("p", { class: "error", role: "alert" }, message));
    }
  }
}
