// Sign in with an API key (kept in this tab's sessionStorage only), or sign out.

import { ApiError, api, auth } from "./api.js";
import { h } from "./dom.js";

export async function render(view, { query, refreshHeader }) {
  if (query.has("out")) {
    auth.key = null;
    refreshHeader();
    view.replaceChildren(h("section", { class: "notice" }, h("h1", {}, "Signed out"),
      h("p", {}, "The key is gone from this tab. ", h("a", { href: "#/signin" }, "Sign in again"), ".")));
    return;
  }
  document.title = "openqpu: sign in";
  const key = h("input", { id: "api-key", name: "key", type: "password", autocomplete: "off",
    required: true, placeholder: "oqk_…" });
  const message = h("p", { id: "signin-message", role: "status" });
  const form = h("form", { class: "card signin", onsubmit: async (event) => {
    event.preventDefault();
    const value = key.value.trim();
    message.textContent = "Checking…";
    try {
      await api("jobs", { query: { limit: 1 }, key: value });
      auth.key = value;
      refreshHeader();
      location.hash = "#/jobs";
    } catch (error) {
      message.textContent = error instanceof ApiError && error.status === 401
        ? "That key was not accepted." : `Could not sign in: ${error.message}`;
      message.className = "error";
    }
  } },
  h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), key,
    h("small", { class: "muted" }, "Kept in this browser tab only (sessionStorage); closing the tab forgets it.")),
  h("p", {}, h("button", { type: "submit" }, "Sign in")), message);
  view.replaceChildren(h("h1", {}, auth.signedIn ? "Switch key" : "Sign in"), form);
  key.focus();
}
