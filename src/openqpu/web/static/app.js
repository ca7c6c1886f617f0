// The dashboard's entry: hash routes to pages, the sign-in state in the header.

import { ApiError, auth } from "./api.js";
import { h } from "./dom.js";
import * as admin from "./admin.js";
import * as composer from "./composer.js";
import * as device from "./device.js";
import * as job from "./job.js";
import * as jobs from "./jobs.js";
import * as overview from "./overview.js";
import * as signin from "./signin.js";
import * as submit from "./submit.js";
import { failure } from "./notice.js";

// A path part is anything up to the next "/": links encode ids (dom.js pageLink).
const ROUTES = [
  [/^\/?$/, overview],
  [/^\/devices\/([^/]+)$/, device],
  [/^\/submit$/, submit],
  [/^\/composer$/, composer],
  [/^\/jobs$/, jobs],
  [/^\/jobs\/([^/]+)$/, job],
  [/^\/signin$/, signin],
  [/^\/admin$/, admin],
];

let current = null;

function updateHeader() {
  const account = document.getElementById("account");
  account.textContent = auth.signedIn ? "Sign out" : "Sign in";
  account.href = auth.signedIn ? "#/signin?out" : "#/signin";
  for (const link of document.querySelectorAll("[data-when=signed-in]")) link.hidden = !auth.signedIn;
  const here = location.hash.split("?")[0] || "#/";
  for (const link of document.querySelectorAll("header nav a")) {
    const target = link.getAttribute("href");
    const active = target === "#/" ? here === "#/" : here.startsWith(target.split("?")[0]);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  const [path, search] = (location.hash.slice(1) || "/").split("?");
  const view = document.getElementById("view");
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  updateHeader();
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    view.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    try {
      await page.render(view, {
        params: match.slice(1).map(decodeURIComponent),
        query: new URLSearchParams(search || ""),
        signal: controller.signal,
        refreshHeader: updateHeader,
      });
    } catch (error) {
      if (error.name !== "AbortError" && !controller.signal.aborted) failure(view, error);
    }
    return;
  }
  failure(view, new ApiError(404, { detail: `No page at ${path}.` }));
}

// The skip link moves focus without touching the hash, which holds the route.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("view").focus();
});
window.addEventListener("hashchange", route);
window.addEventListener("openqpu:auth", updateHeader);
route();
