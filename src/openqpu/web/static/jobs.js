// The signed-in user's jobs (every job for an admin), newest first, with filters.

import { api } from "./api.js";
import { fmt, h, pageLink, statusBadge, when } from "./dom.js";
import { needKey } from "./notice.js";

const STATUSES = ["", "queued", "running", "done", "failed", "cancelled"];
const PAGE = 50;

/** A table of jobs; used here and by the admin page. */
export function jobsTable(jobs) {
  if (!jobs.length) return h("p", { class: "muted", "data-empty": "jobs" }, "No jobs.");
  return h("div", { class: "scroll" }, h("table", { class: "jobs" },
    h("thead", {}, h("tr", {}, ["job", "status", "device", "owner", "shots", "created", "finished"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, jobs.map((job) => h("tr", { "data-job": job.id },
      h("td", {}, h("a", { href: pageLink("jobs", job.id) }, h("code", {}, job.name || job.id.slice(0, 8)))),
      h("td", {}, statusBadge(job.status)),
      h("td", {}, job.device),
      h("td", {}, job.owner),
      h("td", {}, fmt(job.shots)),
      h("td", {}, when(job.created_at)),
      h("td", {}, when(job.finished_at)))))));
}

export async function render(view, { query, signal }) {
  if (!needKey(view, "see your jobs")) return;
  const status = query.get("status") || "";
  const device = query.get("device") || "";
  // Pages go by the server's cursor (`next`): each costs the same at any depth.
  const before = query.get("before") || "";
  const [page, devices] = await Promise.all([
    api("jobs", { query: { status, device, limit: PAGE, before }, signal }),
    api("devices", { signal }),
  ]);
  document.title = "openqpu: jobs";
  const go = (changes) => {
    const next = new URLSearchParams({ status, device, before: "", ...changes });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    location.hash = `#/jobs${next.toString() ? `?${next}` : ""}`;
  };
  const statusSelect = h("select", { id: "filter-status", onchange: () => go({ status: statusSelect.value }) },
    STATUSES.map((s) => h("option", { value: s, selected: s === status }, s || "any")));
  const deviceSelect = h("select", { id: "filter-device", onchange: () => go({ device: deviceSelect.value }) },
    ["", ...devices.map((d) => d.name)].map((d) => h("option", { value: d, selected: d === device }, d || "any")));
  const pager = h("p", { class: "pager" },
    `${page.count} job${page.count === 1 ? "" : "s"}`,
    before ? h("button", { type: "button", class: "secondary",
      onclick: () => go({ before: "" }) }, "Newest") : null,
    page.next ? h("button", { type: "button", class: "secondary",
      onclick: () => go({ before: page.next }) }, "Older") : null);
  view.replaceChildren(h("h1", {}, "Jobs"),
    h("form", { class: "controls filters", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "filter-status" }, "Status"), statusSelect,
      h("label", { for: "filter-device" }, "Device"), deviceSelect,
      h("a", { class: "button", href: "#/submit" }, "New job")),
    jobsTable(page.data), pager);
}
