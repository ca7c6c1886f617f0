// The circuit composer (#/composer): the editor (palette, canvas, OpenQASM text), the live
// state from the server's exact engine (POST /api/v1/preview, which also reports the
// text's errors with their line), the estimate before submitting (the dry run), submit,
// and circuits kept in the browser or exported. `?job=<id>` opens a past job's circuit.

import { ApiError, api, auth } from "./api.js";
import { download, h, isNarrow } from "./dom.js";
import { KEYS_HELP, editor } from "./editor.js";
import { errorAtLine, estimatePanel, field, jobOptions, submitJob } from "./jobform.js";
import { liveStateView } from "./livestate.js";
import { signInNotice } from "./notice.js";
import { forgetCircuit, loadDraft, saveDraft, savedCircuits, storeCircuit } from "./saved.js";
import { toQasm } from "./qasm.js";
import { emptyCircuit } from "./circuit.js";

// The live state follows an edit after this pause (the server answers in milliseconds).
const PREVIEW_DELAY_MS = 30;

/** Save, load, forget and export: circuits kept in this browser's localStorage. */
function savedPanel(parts) {
  const name = h("input", { id: "circuit-name", type: "text", value: "circuit", size: 14, autocomplete: "off" });
  const saved = h("select", { id: "saved-circuits" });
  const message = h("p", { class: "muted", id: "storage-message", role: "status" });
  const list = () => {
    const names = Object.keys(savedCircuits()).sort();
    saved.replaceChildren(...(names.length ? names.map((n) => h("option", { value: n }, n))
      : [h("option", { value: "" }, "none yet")]));
  };
  const refused = (error) => {
    if (error.name !== "QuotaExceededError" && error.name !== "SecurityError") throw error;
    message.textContent = `This browser would not store it: ${error.message}`;
  };
  const button = (label, id, onclick) => h("button", { type: "button", class: "secondary", id, onclick }, label);
  list();
  return {
    name,
    element: h("div", { class: "saved" },
      h("div", { class: "controls" }, field("Name", "circuit-name", name),
        button("Save in this browser", "save-circuit", () => {
          const label = name.value.trim() || "circuit";
          try {
            storeCircuit(label, { text: parts.text.value, version: parts.versionSelect.value });
          } catch (error) { refused(error); return; }
          list();
          saved.value = label;
          message.textContent = `Saved as '${label}' in this browser.`;
        }),
        button("Export .qasm", "export-qasm", () => download(
          `${(name.value.trim() || "circuit").replace(/[^\w.-]+/g, "_")}.qasm`, parts.text.value, "text/plain"))),
      h("div", { class: "controls" }, field("Saved circuits", "saved-circuits", saved),
        button("Load", "load-circuit", () => {
          const entry = savedCircuits()[saved.value];
          if (!entry) { message.textContent = "Nothing is saved under that name."; return; }
          parts.load(entry.text);
          name.value = saved.value;
          message.textContent = `Loaded '${saved.value}'.`;
        }),
        button("Forget", "forget-circuit", () => {
          if (!saved.value) return;
          try { forgetCircuit(saved.value); } catch (error) { refused(error); return; }
          message.textContent = `'${saved.value}' is no longer saved.`;
          list();
        })),
      message),
  };
}

export async function render(view, { query, signal }) {
  document.title = "openqpu: composer";
  view.classList.add("wide");
  signal.addEventListener("abort", () => view.classList.remove("wide"), { once: true });
  const signedIn = auth.signedIn;
  const devices = signedIn ? await api("devices", { signal }) : null;

  const sourceError = h("div", { id: "composer-error" });
  const live = h("section", { class: "card live-state", id: "live-state", "aria-live": "polite", "data-state": "empty" },
    h("h2", {}, "Live state"));
  let latest = null;  // what the editor last showed: {text, drawable, circuit, editedAt}
  let previewTimer = null, previewing = null;
  let estimate = null;

  // ---- the server reads the text: its errors under their line, and the live state -----------
  const showError = (body) => {
    // The server names the field ("source: ..."): here it is the text, which needs no name.
    if (body && body.field && body.detail.startsWith(`${body.field}: `)) {
      body = { ...body, detail: body.detail.slice(body.field.length + 2) };
    }
    if (!body) sourceError.replaceChildren();
    else if (body.line) sourceError.replaceChildren(errorAtLine(latest.text, body));
    else sourceError.replaceChildren(h("p", { class: "error", role: "alert" }, body.detail));
  };
  const showLive = (state, ...children) => {
    live.dataset.state = state;
    live.replaceChildren(h("h2", {}, "Live state"), ...children);
  };
  const askPreview = async () => {
    previewing?.abort();
    const controller = new AbortController();
    previewing = controller;
    const { text, editedAt } = latest;
    live.dataset.state = "busy";
    try {
      const answer = await api("preview", { method: "POST", body: { source: text, format: "auto" },
        signal: controller.signal });
      showError(null);
      if (answer.probabilities) showLive("ready", ...liveStateView(answer));
      else showLive("none", h("p", { class: "muted", "data-reason": "" }, `No live state: ${answer.reason}.`));
      live.dataset.latencyMs = String(Math.round(performance.now() - editedAt));
    } catch (error) {
      if (controller.signal.aborted || signal.aborted) return;
      if (!(error instanceof ApiError)) {
        showLive("error", h("p", { class: "error" }, `No live state: ${error.message}`));
        return;
      }
      showError({ ...error.body, detail: error.body.detail || error.message });
      showLive("error", h("p", { class: "muted" }, error.status === 429
        ? "The server asks to slow down: the live state follows the next edit."
        : "No live state while the text has an error (shown under the text)."));
    } finally {
      if (previewing === controller) previewing = null;
    }
  };
  signal.addEventListener("abort", () => { clearTimeout(previewTimer); previewing?.abort(); }, { once: true });

  const onChange = (state) => {
    latest = state;
    saveDraft({ text: state.text, version: state.version });
    if (!signedIn) {
      // No key, no server: the browser's own reading of the text, said as such.
      const line = parts.notice.firstChild?.dataset.line;
      sourceError.replaceChildren(...(line ? [h("p", { class: "muted" },
        `Checked in this browser only: see line ${line} above. Sign in to have the server check the text.`)] : []));
      return;
    }
    clearTimeout(previewTimer);
    previewTimer = setTimeout(askPreview, PREVIEW_DELAY_MS);
    estimate.soon();
  };
  const parts = editor({ signal, onChange });

  // ---- run it: the options of the submit page, the estimate, submit --------------------------
  let run;
  if (signedIn) {
    const options = jobOptions(devices);
    estimate = estimatePanel({
      body: () => (latest && latest.text.trim() ? options.body(latest.text, "auto") : null),
      signal,
      empty: "Draw or write a circuit to see its method, run time and place in the queue.",
    });
    const outcome = h("div", { id: "submit-outcome" });
    const submit = h("button", { type: "submit" }, "Submit");
    run = h("form", { class: "card submit", novalidate: true, "aria-labelledby": "run-heading", onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        await submitJob(options.body(parts.text.value, "auto"), { outcome, textarea: parts.text, signal });
      } finally {
        submit.disabled = false;
      }
    } },
    h("h2", { id: "run-heading" }, "Run it"),
    h("div", { class: "row" }, field("Device", "device", options.device)),
    options.options, estimate.element,
    h("p", { class: "controls" }, submit,
      h("button", { type: "button", class: "secondary", id: "estimate-button", onclick: estimate.now }, "Estimate")),
    outcome);
    run.addEventListener("input", estimate.soon);
  } else {
    run = signInNotice("see the live state and the estimate of this circuit, and to run it", { heading: "h2" });
  }

  // ---- the page ------------------------------------------------------------------------------
  const files = savedPanel(parts);
  const keys = h("details", { class: "keys-help" }, h("summary", {}, "Keyboard"),
    h("dl", { class: "facts" }, KEYS_HELP.flatMap(([key, what]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, what)])));
  view.replaceChildren(h("h1", {}, "Composer"),
    h("div", { class: "composer" },
      h("details", { class: "palette", open: !isNarrow() }, h("summary", {}, "Gates"), parts.palette),
      h("div", { class: "workbench" },
        h("section", { class: "card canvas-card", "aria-label": "Canvas" },
          parts.tools, parts.status, parts.notice, parts.holder, parts.inspector, keys),
        h("section", { class: "card source-card", "aria-label": "OpenQASM text" },
          h("div", { class: "controls" }, h("label", { for: "composer-source" }, "OpenQASM text"),
            h("label", { for: "qasm-version", class: "visually-hidden" }, "OpenQASM version"), parts.versionSelect),
          parts.text, sourceError, files.element))),
    live, run);

  // What to open: a job's circuit, else this browser's draft, else two empty wires.
  const job = query.get("job");
  const draft = loadDraft();
  if (job) {
    const submitted = await api(`jobs/${encodeURIComponent(job)}/circuits`, { signal });
    parts.load(submitted.circuits[0]);
    files.name.value = `job-${job.slice(0, 8)}`;
    const more = submitted.circuits.length > 1 ? ` (the first of its ${submitted.circuits.length} circuits)` : "";
    parts.say(`Opened the circuit of job ${job.slice(0, 8)}${more}.`);
  } else if (draft && draft.text) {
    parts.load(draft.text);
  } else {
    parts.load(toQasm(emptyCircuit(2), 2));
  }
  if (!signedIn) live.append(h("p", { class: "muted" }, "Sign in to see the state as you compose."));
}
