// One device: the chip's lattice coloured by calibration, its time line, queue and maintenance.

import { api } from "./api.js";
import { lineChart } from "./charts.js";
import { fmt, h, statusBadge, when } from "./dom.js";
import { METRICS, calibrationTable, lattice } from "./lattice.js";
import { needKey } from "./notice.js";

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).flatMap(([term, value]) =>
    [h("dt", {}, term), h("dd", {}, value)]));
}

function maintenance(device) {
  if (device.maintenance_until) {
    return h("span", { class: "badge status-maintenance", "data-maintenance": "now" },
      `in maintenance until ${when(device.maintenance_until)}`);
  }
  if (device.next_maintenance) {
    return h("span", { "data-maintenance": "next" },
      `${when(device.next_maintenance.start)} – ${when(device.next_maintenance.end)}`);
  }
  return "none (a simulator)";
}

function timeline(history) {
  const ordered = [...history].reverse();  // the API answers newest first
  const labels = ordered.map((c) => c.taken_at.slice(5, 16).replace("T", " "));
  return h("section", { class: "card" }, h("h2", {}, "Calibration time line"),
    h("p", { class: "muted" }, `${ordered.length} snapshot${ordered.length === 1 ? "" : "s"}, oldest first.`),
    h("div", { class: "charts" },
      lineChart(labels, [{ name: "median T1 (µs)", values: ordered.map((c) => c.median_t1_us) }],
        { title: "Median T1 (µs)" }),
      lineChart(labels, [{ name: "median CZ fidelity", values: ordered.map((c) => c.median_cz_fidelity) }],
        { title: "Median CZ fidelity", digits: 4 })));
}

export async function render(view, { params: [name], signal }) {
  if (!needKey(view, "see the devices")) return;
  const device = await api(`devices/${encodeURIComponent(name)}`, { signal });
  const chip = Boolean(device.topology);
  const [calibration, history] = chip ? await Promise.all([
    api(`devices/${encodeURIComponent(name)}/calibration`, { signal }),
    api(`devices/${encodeURIComponent(name)}/calibrations`, { query: { limit: 100 }, signal }),
  ]) : [null, []];
  document.title = `openqpu: ${name}`;
  const summary = device.calibration;
  const content = [
    h("h1", {}, device.name, " ", statusBadge(device.status, { "data-device-status": device.status })),
    h("p", {}, device.description || ""),
    h("section", { class: "card" }, facts([
      ["qubits", fmt(device.num_qubits)],
      ["queue length", h("span", { "data-queue": name }, fmt(device.queue_length))],
      ["native gates", h("span", { class: "gates" }, device.native_gates.map((g) => h("code", {}, g)))],
      chip && [device.maintenance_until ? "maintenance" : "next maintenance", maintenance(device)],
      summary && ["calibration", `${summary.id} (taken ${when(summary.taken_at)})`],
      summary && ["medians", `T1 ${fmt(summary.median_t1_us)} µs, T2 ${fmt(summary.median_t2_us)} µs, ` +
        `readout fidelity ${fmt(summary.median_readout_fidelity, 4)}, ` +
        `1q fidelity ${fmt(summary.median_gate_fidelity_1q, 4)}, CZ fidelity ${fmt(summary.median_cz_fidelity, 4)}`],
      summary && ["out of service", `${summary.num_qubits_disabled} qubits, ${summary.num_couplers_disabled} couplers`],
    ])),
  ];
  if (chip) {
    const holder = h("div", { class: "lattice-holder" });
    const select = h("select", { id: "metric", onchange: () => draw() },
      Object.entries(METRICS).map(([key, m]) => h("option", { value: key }, m.label)));
    const draw = () => holder.replaceChildren(lattice(device, calibration, { metric: select.value }));
    draw();
    content.push(h("section", { class: "card" }, h("h2", {}, "Chip"),
      h("p", { class: "controls" }, h("label", { for: "metric" }, "Colour qubits by "), select),
      holder, calibrationTable(calibration)), timeline(history));
  }
  view.replaceChildren(...content);
}
