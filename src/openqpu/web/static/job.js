// One job: live status, source, compiled circuit, layout on the chip, counts, downloads.

import { ApiError, api } from "./api.js";
import { histogram } from "./charts.js";
import { download, fmt, h, pageLink, statusBadge, when } from "./dom.js";
import { lattice } from "./lattice.js";
import { needKey } from "./notice.js";

const LIVE = new Set(["queued", "running"]);
// A lost connection during the long poll is retried after these pauses (then every 30 s).
const BACKOFF_S = [1, 2, 4, 8, 15, 30];

function statusCard(job, onCancel) {
  return h("section", { class: "card", id: "job-status" },
    h("dl", { class: "facts" },
      h("dt", {}, "status"), h("dd", {}, statusBadge(job.status),
        job.queue_position !== null && job.queue_position !== undefined
          ? ` (position ${job.queue_position + 1} in the queue)` : ""),
      h("dt", {}, "device"), h("dd", {}, h("a", { href: pageLink("devices", job.device) }, job.device)),
      h("dt", {}, "owner"), h("dd", {}, job.owner),
      h("dt", {}, "kind"), h("dd", {}, `${job.kind}, ${fmt(job.num_circuits)} circuit(s), ${fmt(job.shots)} shots`),
      h("dt", {}, "created"), h("dd", {}, when(job.created_at)),
      h("dt", {}, "started"), h("dd", {}, when(job.started_at)),
      h("dt", {}, "finished"), h("dd", {}, when(job.finished_at)),
      job.error ? [h("dt", {}, "error"), h("dd", { class: "error" }, job.error)] : null),
    LIVE.has(job.status) ? h("p", {}, h("button", { type: "button", class: "danger", id: "cancel",
      onclick: onCancel }, "Cancel job")) : null,
    job.events ? h("details", {}, h("summary", {}, "Status changes"), h("ol", { class: "events" },
      job.events.map((e) => h("li", {}, `${when(e.at)}: ${e.status}${e.detail ? ` (${e.detail})` : ""}`)))) : null);
}

function csv(result) {
  const lines = ["circuit,outcome,count,mitigated_probability"];
  result.results.forEach((entry, i) => {
    for (const [outcome, n] of Object.entries(entry.counts || {})) {
      const p = entry.mitigated_probabilities ? entry.mitigated_probabilities[outcome] ?? "" : "";
      lines.push(`${i},${outcome},${n},${p}`);
    }
    (entry.expectation_values || []).forEach((v, k) => lines.push(`${i},observable ${k},,${v}`));
  });
  return `${lines.join("\n")}\n`;
}

/** How a chip simulated one circuit: the method, its approximations and its figures. */
function methodFacts(entry) {
  const approximations = entry.approximations || [];
  const figures = Object.entries(entry.method_figures || {});
  return h("dl", { class: "facts method", "data-method": entry.method },
    h("dt", {}, "method"), h("dd", { "data-field": "method" }, h("code", {}, entry.method)),
    h("dt", {}, "approximations"), h("dd", { "data-field": "approximations" }, approximations.length
      ? h("ul", { class: "approximations" }, approximations.map((sentence) => h("li", {}, sentence)))
      : "none: exact up to sampling"),
    figures.length ? [h("dt", {}, "figures"), h("dd", { "data-field": "figures" },
      h("ul", { class: "figures-list" }, figures.map(([name, value]) =>
        h("li", { "data-figure": name }, `${name.replaceAll("_", " ")}: ${fmt(value, 6)}`))))] : null);
}

async function layoutOnChip(job, entry, signal) {
  const device = await api(`devices/${encodeURIComponent(job.device)}`, { signal });
  if (!device.topology) return null;
  const at = job.started_at || job.created_at;
  const path = `devices/${encodeURIComponent(job.device)}/calibration`;
  let calibration;
  try {
    calibration = await api(path, { query: { at }, signal });
  } catch (error) {
    // No snapshot was in force then (the job is older than the history kept): today's.
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    calibration = await api(path, { signal });
  }
  return h("div", { class: "lattice-holder" }, lattice(device, calibration,
    { metric: "readout", highlight: entry.compiled.initial_layout || entry.compiled.physical_qubits || [] }));
}

async function resultSection(job, signal) {
  const result = await api(`jobs/${encodeURIComponent(job.id)}/result`, { signal });
  const section = h("section", { class: "card", id: "job-result" }, h("h2", {}, "Result"),
    h("p", { class: "controls" },
      h("button", { type: "button", class: "secondary", id: "download-json",
        onclick: () => download(`${job.id}.json`, JSON.stringify(result, null, 2), "application/json") },
      "Download JSON"),
      h("button", { type: "button", class: "secondary", id: "download-csv",
        onclick: () => download(`${job.id}.csv`, csv(result), "text/csv") }, "Download CSV")));
  for (const [i, entry] of result.results.entries()) {
    const part = h("div", { class: "circuit-result", "data-circuit": i },
      result.results.length > 1 ? h("h3", {}, `Circuit ${i}`) : null);
    if (entry.counts) part.append(histogram(entry.counts, { title: `Counts (${fmt(entry.shots)} shots)` }));
    if (entry.mitigated_probabilities) {
      const top = Object.entries(entry.mitigated_probabilities).sort((a, b) => b[1] - a[1]).slice(0, 16);
      part.append(h("details", {}, h("summary", {}, "Readout-mitigated probabilities"),
        h("table", {}, h("tbody", {}, top.map(([k, p]) => h("tr", {}, h("td", {}, h("code", {}, k)),
          h("td", {}, fmt(p, 4))))))));
    }
    if (entry.expectation_values) {
      part.append(h("h3", {}, "Expectation values"), h("table", { class: "expectations" },
        h("tbody", {}, entry.expectation_values.map((v, k) =>
          h("tr", {}, h("th", { scope: "row" }, `observable ${k}`), h("td", { "data-expectation": k }, fmt(v, 6)))))));
    }
    if (entry.method) part.append(h("h3", {}, "Simulation"), methodFacts(entry));
    if (entry.compiled) {
      part.append(h("p", {}, `Calibration ${entry.calibration_id || result.calibration_id || "–"}; ` +
        `estimated success probability ${fmt(entry.estimated_success_probability, 4)}; ` +
        `${fmt(entry.compiled.num_two_qubit_gates)} two-qubit gates, depth ${fmt(entry.compiled.depth)}; ` +
        `physical qubits ${(entry.compiled.physical_qubits || []).join(", ")}.`));
      const chip = await layoutOnChip(job, entry, signal);
      if (chip) part.append(h("h3", {}, "Layout on the chip"), chip);
      part.append(h("details", {}, h("summary", {}, "Compiled circuit (OpenQASM 3)"),
        h("pre", { class: "code", id: `compiled-${i}` }, entry.compiled.qasm3)));
    }
    section.append(part);
  }
  return section;
}

/** Wait `seconds` (or until the page is left). */
function pause(seconds, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/** A failure worth retrying: no answer at all, or the server busy or restarting. */
function transient(error) {
  return !(error instanceof ApiError) || [502, 503, 504].includes(error.status);
}

export async function render(view, { params: [id], signal }) {
  if (!needKey(view, "see this job")) return;
  const path = `jobs/${encodeURIComponent(id)}`;
  let job = await api(path, { signal });
  document.title = `openqpu: job ${id.slice(0, 8)}`;
  const submitted = await api(`${path}/circuits`, { query: { drawn: true }, signal });
  const status = h("div");
  const result = h("div");
  const connection = h("p", { class: "muted", id: "job-connection", role: "status" });
  const cancelMessage = h("p", { class: "error", id: "cancel-error", role: "alert" });
  const show = () => status.replaceChildren(statusCard(job, cancel), cancelMessage);
  const cancel = async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    cancelMessage.textContent = "";
    try {
      job = await api(`${path}/cancel`, { method: "POST", signal });
      show();
    } catch (error) {
      if (signal.aborted) return;
      // 409: it finished first; 404, 401, a lost connection: each says so here.
      cancelMessage.textContent = `The job was not cancelled: ${error.message}`
        + (error instanceof ApiError ? "" : " (no answer from the server)");
      button.disabled = false;
    }
  };
  show();
  view.replaceChildren(h("h1", {}, "Job ", h("code", {}, job.name || job.id)), status, connection,
    h("section", { class: "card" }, h("h2", {}, "Circuit source"),
      h("p", { class: "muted" }, `format: ${submitted.format}`),
      ...submitted.circuits.map((text, i) => h("div", {},
        submitted.drawings[i]
          ? h("pre", { class: "code drawing", id: i ? `job-drawing-${i}` : "job-drawing" }, submitted.drawings[i])
          : h("p", { class: "muted" }, "Too large to draw."),
        h("details", {}, h("summary", {}, "Source"),
          h("pre", { class: "code", id: i ? `job-source-${i}` : "job-source" }, text)))),
      h("p", {}, h("a", { class: "button secondary", id: "open-in-composer",
        href: `#/composer?job=${encodeURIComponent(job.id)}` }, "Open in composer"))),
    result);
  let failures = 0;
  while (LIVE.has(job.status) && !signal.aborted) {  // long poll: answered when the job ends, or after 10 s
    try {
      job = await api(path, { query: { wait: 10 }, signal });
    } catch (error) {
      if (signal.aborted || !transient(error)) throw error;
      const wait = BACKOFF_S[Math.min(failures, BACKOFF_S.length - 1)];
      failures += 1;
      connection.textContent = `Lost touch with the server (${error.message}); trying again in ${wait} s…`;
      await pause(wait, signal);
      continue;
    }
    if (failures) connection.textContent = "Back in touch with the server.";
    failures = 0;
    show();
  }
  if (job.status === "done") result.replaceChildren(await resultSection(job, signal));
}
