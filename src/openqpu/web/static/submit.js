// Submit a circuit: OpenQASM 2/3 or OriginIR, pasted or uploaded; errors point at their line.
// The server's estimate (method, run time, queue) is shown before submitting, after edits.

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { estimateView } from "./estimate.js";
import { needKey } from "./notice.js";

const BELL = `OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
`;
const METHODS = [["auto", "auto (cheapest exact or bounded)"], ["density_matrix", "density matrix"],
  ["stabilizer", "stabilizer"], ["mps", "matrix product state"], ["statevector", "statevector trajectories"]];
const CHIP_ONLY_METHODS = new Set(["density_matrix", "stabilizer", "mps"]);
// Edits settle for this long before the estimate is asked for again.
const ESTIMATE_DELAY_MS = 600;

function field(label, id, control, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint && h("small", { class: "muted" }, hint));
}

/** The lines around `line` with the error written under it. */
function errorAtLine(source, body) {
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

function selectLine(textarea, line) {
  const lines = textarea.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
  textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

export async function render(view, { signal }) {
  if (!needKey(view, "submit circuits")) return;
  const devices = await api("devices", { signal });
  document.title = "openqpu: submit";
  const device = h("select", { id: "device", name: "device" },
    devices.map((d) => h("option", { value: d.name }, `${d.name} (${d.num_qubits} qubits, ${d.status})`)));
  const format = h("select", { id: "format", name: "format" },
    [["auto", "detect"], ["qasm2", "OpenQASM 2"], ["qasm3", "OpenQASM 3"], ["originir", "OriginIR"]]
      .map(([value, label]) => h("option", { value }, label)));
  const source = h("textarea", { id: "source", name: "source", rows: 14, spellcheck: "false",
    required: true, placeholder: "OPENQASM 2.0; …" });
  const upload = h("input", { id: "upload", type: "file", accept: ".qasm,.qasm2,.qasm3,.ir,.originir,.txt,text/plain",
    onchange: async () => {
      if (upload.files[0]) source.value = await upload.files[0].text();
      estimateSoon();
    } });
  const shots = h("input", { id: "shots", name: "shots", type: "number", min: 1, value: 1000, required: true });
  const level = h("select", { id: "level", name: "optimization_level" },
    h("option", { value: "", selected: true }, "server default"),
    [0, 1, 2, 3].map((n) => h("option", { value: n }, String(n))));
  const mitigation = h("input", { id: "mitigation", name: "mitigation", type: "checkbox" });
  const method = h("select", { id: "method", name: "method" },
    METHODS.map(([value, label]) => h("option", { value }, label)));
  const chipOnly = () => {
    const chosen = devices.find((d) => d.name === device.value);
    const simulator = !chosen || chosen.simulator;
    level.disabled = simulator;
    mitigation.disabled = simulator;
    for (const option of method.options) option.disabled = simulator && CHIP_ONLY_METHODS.has(option.value);
    if (method.selectedOptions[0] && method.selectedOptions[0].disabled) method.value = "auto";
  };
  device.addEventListener("change", chipOnly);
  const outcome = h("div", { id: "submit-outcome" });
  const button = h("button", { type: "submit" }, "Submit");
  const jobBody = () => {
    const body = { device: device.value, circuits: [source.value], format: format.value,
      shots: Number(shots.value) };
    if (!level.disabled && level.value !== "") body.optimization_level = Number(level.value);
    if (!mitigation.disabled && mitigation.checked) body.mitigation = "readout";
    if (method.value !== "auto") body.method = method.value;
    return body;
  };

  // The estimate: asked for after edits settle, or at once with the button; a newer
  // request aborts an older one, so only the answer for what is on screen is drawn.
  const estimate = h("section", { class: "card estimate", id: "estimate", "aria-live": "polite",
    "data-state": "empty" });
  let timer = null;
  let pending = null;
  const showEstimate = (state, ...children) => {
    estimate.dataset.state = state;
    estimate.replaceChildren(...children);
  };
  const askEstimate = async () => {
    clearTimeout(timer);
    if (pending) pending.abort();
    if (!source.value.trim()) {
      showEstimate("empty", h("h2", {}, "Estimate"),
        h("p", { class: "muted" }, "Paste or upload a circuit to see its method, run time and place in the queue."));
      return;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener("abort", stop, { once: true });
    pending = controller;
    estimate.dataset.state = "busy";
    try {
      const plan = await api("jobs", { method: "POST", body: { ...jobBody(), dry_run: true },
        signal: controller.signal });
      showEstimate("ready", ...estimateView(plan));
    } catch (error) {
      if (controller.signal.aborted) return;
      const message = error instanceof ApiError && error.body.field && !error.body.line
        ? `${error.body.field}: ${error.message}` : error.message;
      showEstimate("refused", h("h2", {}, "Estimate"),
        h("p", { class: "error", role: "alert", "data-estimate": "refused" },
          error instanceof ApiError ? `The server would refuse this job: ${message}`
            : `No estimate: ${message}`));
    } finally {
      signal.removeEventListener("abort", stop);
      if (pending === controller) pending = null;
    }
  };
  const estimateSoon = () => {
    clearTimeout(timer);
    estimate.dataset.state = source.value.trim() ? "stale" : estimate.dataset.state;
    timer = setTimeout(askEstimate, ESTIMATE_DELAY_MS);
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  const estimateButton = h("button", { type: "button", class: "secondary", id: "estimate-button",
    onclick: askEstimate }, "Estimate");

  const form = h("form", { class: "card submit", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    outcome.replaceChildren();
    if (!source.value.trim()) {
      outcome.append(h("p", { class: "error", role: "alert" }, "Paste or upload a circuit first."));
      source.focus();
      return;
    }
    const body = jobBody();
    button.disabled = true;
    try {
      const job = await api("jobs", { method: "POST", body, signal });
      location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.body.line) {
        outcome.append(errorAtLine(source.value, error.body));
        selectLine(source, error.body.line);
      } else {
        outcome.append(h("p", { class: "error", role: "alert" },
          error.body.field ? `${error.body.field}: ${error.message}` : error.message));
      }
    } finally {
      button.disabled = false;
    }
  } },
  h("div", { class: "row" }, field("Device", "device", device), field("Format", "format", format)),
  field("Circuit", "source", source),
  h("div", { class: "row" },
    field("…or upload a file", "upload", upload),
    h("div", { class: "field" }, h("span", { class: "label-like" }, "Example"),
      h("button", { type: "button", class: "secondary",
        onclick: () => { source.value = BELL; estimateSoon(); } }, "Insert Bell circuit"))),
  h("div", { class: "row" },
    field("Shots", "shots", shots),
    field("Optimisation level", "level", level, "chips only"),
    field("Simulation method", "method", method, "chips; simulators: auto or statevector"),
    h("div", { class: "field check" }, mitigation, h("label", { for: "mitigation" }, "Readout mitigation"))),
  estimate,
  h("p", { class: "controls" }, button, estimateButton), outcome);
  // Every control fires "input" on an edit ("change" would also fire on the textarea's blur).
  form.addEventListener("input", estimateSoon);
  view.replaceChildren(h("h1", {}, "Submit a circuit"), form);
  chipOnly();
  askEstimate();
}
