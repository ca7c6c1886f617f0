// Submit a circuit: OpenQASM 2/3 or OriginIR, pasted or uploaded; errors point at their line.
// The server's estimate (method, run time, queue) is shown before submitting, after edits.

import { api } from "./api.js";
import { h } from "./dom.js";
import { estimatePanel, field, jobOptions, submitJob } from "./jobform.js";
import { needKey } from "./notice.js";

const BELL = `OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
`;

export async function render(view, { signal }) {
  if (!needKey(view, "submit circuits")) return;
  const devices = await api("devices", { signal });
  document.title = "openqpu: submit";
  const options = jobOptions(devices);
  const format = h("select", { id: "format", name: "format" },
    [["auto", "detect"], ["qasm2", "OpenQASM 2"], ["qasm3", "OpenQASM 3"], ["originir", "OriginIR"]]
      .map(([value, label]) => h("option", { value }, label)));
  const source = h("textarea", { id: "source", name: "source", rows: 14, spellcheck: "false",
    required: true, placeholder: "OPENQASM 2.0; …" });
  const upload = h("input", { id: "upload", type: "file", accept: ".qasm,.qasm2,.qasm3,.ir,.originir,.txt,text/plain",
    onchange: async () => {
      if (upload.files[0]) source.value = await upload.files[0].text();
      estimate.soon();
    } });
  const outcome = h("div", { id: "submit-outcome" });
  const button = h("button", { type: "submit" }, "Submit");
  const estimate = estimatePanel({
    body: () => (source.value.trim() ? options.body(source.value, format.value) : null),
    signal,
    empty: "Paste or upload a circuit to see its method, run time and place in the queue.",
  });
  const estimateButton = h("button", { type: "button", class: "secondary", id: "estimate-button",
    onclick: estimate.now }, "Estimate");

  const form = h("form", { class: "card submit", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    outcome.replaceChildren();
    if (!source.value.trim()) {
      outcome.append(h("p", { class: "error", role: "alert" }, "Paste or upload a circuit first."));
      source.focus();
      return;
    }
    button.disabled = true;
    try {
      await submitJob(options.body(source.value, format.value), { outcome, textarea: source, signal });
    } finally {
      button.disabled = false;
    }
  } },
  h("div", { class: "row" }, field("Device", "device", options.device), field("Format", "format", format)),
  field("Circuit", "source", source),
  h("div", { class: "row" },
    field("…or upload a file", "upload", upload),
    h("div", { class: "field" }, h("span", { class: "label-like" }, "Example"),
      h("button", { type: "button", class: "secondary",
        onclick: () => { source.value = BELL; estimate.soon(); } }, "Insert Bell circuit"),
      h("a", { href: "#/composer", class: "muted" }, "…or draw one in the composer"))),
  options.options,
  estimate.element,
  h("p", { class: "controls" }, button, estimateButton), outcome);
  // Every control fires "input" on an edit ("change" would also fire on the textarea's blur).
  form.addEventListener("input", estimate.soon);
  view.replaceChildren(h("h1", {}, "Submit a circuit"), form);
  estimate.now();
}
