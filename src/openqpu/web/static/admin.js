// Admin view: every account and every job (the API refuses other keys with 403).

import { ApiError, api } from "./api.js";
import { fmt, h, when } from "./dom.js";
import { jobsTable } from "./jobs.js";
import { needKey } from "./notice.js";

export async function render(view, { signal }) {
  if (!needKey(view, "see the admin view")) return;
  let users;
  try {
    users = await api("users", { signal });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    view.replaceChildren(h("section", { class: "notice", "data-forbidden": "" }, h("h1", {}, "Admins only"),
      h("p", {}, "This view needs an admin key.")));
    return;
  }
  const jobs = await api("jobs", { query: { limit: 100 }, signal });
  document.title = "openqpu: admin";
  view.replaceChildren(h("h1", {}, "Admin"),
    h("section", { class: "card" }, h("h2", {}, `Users (${users.length})`),
      h("div", { class: "scroll" }, h("table", { class: "users" },
        h("thead", {}, h("tr", {}, ["id", "name", "country", "role", "active keys",
          "active jobs / quota", "shots today / quota", "created"]
          .map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, users.map((u) => h("tr", { "data-user": u.name },
          h("td", {}, u.id), h("td", {}, u.name), h("td", {}, u.country), h("td", {}, u.role),
          h("td", {}, fmt(u.active_keys)),
          h("td", { "data-quota": "jobs" }, `${fmt(u.active_jobs)} / ${fmt(u.max_active_jobs)}`),
          h("td", { "data-quota": "shots" }, `${fmt(u.shots_today)} / ${fmt(u.max_shots_per_day)}`),
          h("td", {}, when(u.created_at)))))))),
    h("section", { class: "card" }, h("h2", {}, `All jobs (${jobs.count}, newest 100)`), jobsTable(jobs.data)));
}
