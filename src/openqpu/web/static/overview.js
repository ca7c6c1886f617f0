// Overview (public): usage figures, their history, devices and their queues.

import { ApiError, api, auth } from "./api.js";
import { lineChart } from "./charts.js";
import { fmt, h, pageLink, statusBadge } from "./dom.js";

function figure(label, name, value) {
  return h("div", { class: "figure" }, h("span", { class: "value", "data-stat": name }, fmt(value)),
    h("span", { class: "label" }, label));
}

/** Tasks completed in the last `days` days (today included), from the per-day series. */
function recent(perDay, days) {
  const since = new Date(Date.now() - (days - 1) * 86400e3).toISOString().slice(0, 10);
  return perDay.filter((d) => d.day >= since).reduce((sum, d) => sum + d.tasks, 0);
}

// Accounts so far at the end of each day on which some were made (a step chart's corners).
function growthChart(growth) {
  if (!growth.length) return h("p", { class: "muted" }, "No accounts were made in the last 30 days.");
  return lineChart(growth.map((d) => d.day.slice(5)), [
    { name: "users", values: growth.map((d) => d.users) },
    { name: "countries", values: growth.map((d) => d.countries) },
  ], { title: "Users and countries so far (UTC)", digits: 2, zero: true });
}

export async function render(view, { signal }) {
  // The catalogue (names, qubits) is public, like the stats; a key adds each device's details.
  const [stats, catalog] = await Promise.all([api("stats", { signal }), api("catalog", { signal })]);
  let devices = null;
  if (auth.signedIn) {
    try {
      devices = await api("devices", { signal });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;  // a stale key: the public view
    }
  }
  document.title = "openqpu: overview";
  const days = [...new Set([...stats.tasks_completed_per_day.map((d) => d.day),
    ...stats.visits_per_day.map((d) => d.day)])].sort();
  const tasks = new Map(stats.tasks_completed_per_day.map((d) => [d.day, d.tasks]));
  const visits = new Map(stats.visits_per_day.map((d) => [d.day, d.visits]));
  const byName = new Map((devices || []).map((d) => [d.name, d]));
  const qubits = new Map(catalog.map((d) => [d.name, d.num_qubits]));
  const names = Object.keys(stats.queue_lengths);

  view.replaceChildren(
    h("h1", {}, "Overview"),
    h("section", { class: "figures", "aria-label": "Usage" },
      figure("tasks completed", "tasks_completed", stats.tasks_completed),
      figure("visits", "visits", stats.visits),
      figure("users", "users", stats.users),
      figure("countries", "countries", stats.countries)),
    h("section", { class: "card" }, h("h2", {}, "Over time"),
      lineChart(days.map((d) => d.slice(5)), [
        { name: "tasks completed", values: days.map((d) => tasks.get(d) ?? 0) },
        { name: "visits", values: days.map((d) => visits.get(d) ?? 0) },
      ], { title: "Per day (UTC)", digits: 2, zero: true })),
    h("section", { class: "card" }, h("h2", {}, "Users and countries"),
      growthChart(stats.users_per_day || [])),
    h("section", { class: "card" }, h("h2", {}, "Throughput"),
      h("p", {}, h("span", { "data-stat": "tasks_last_day" }, fmt(recent(stats.tasks_completed_per_day, 1))),
        " tasks completed today, ",
        h("span", { "data-stat": "tasks_last_week" }, fmt(recent(stats.tasks_completed_per_day, 7))),
        " in the last 7 days.")),
    h("section", { class: "card" }, h("h2", {}, "Devices"),
      h("div", { class: "scroll" }, h("table", { class: "devices" },
        h("thead", {}, h("tr", {}, ["device", "status", "queue", "tasks completed", "qubits"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, names.map((name) => {
          const info = byName.get(name);
          return h("tr", { "data-device": name },
            h("th", { scope: "row" }, h("a", { href: pageLink("devices", name) }, name)),
            h("td", {}, statusBadge(info ? info.status : (stats.device_status || {})[name])),
            h("td", { "data-queue": name }, fmt(stats.queue_lengths[name])),
            h("td", {}, fmt(stats.tasks_completed_per_device[name] ?? 0)),
            h("td", { "data-qubits": name }, fmt(info ? info.num_qubits : qubits.get(name))));
        })))),
      devices ? null : h("p", { class: "muted" }, "Sign in to see each device's calibration and maintenance.")),
  );
}
