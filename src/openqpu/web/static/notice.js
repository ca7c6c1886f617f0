// What a page shows instead of its content: sign-in prompts, not found, errors.

import { ApiError, auth } from "./api.js";
import { h } from "./dom.js";

/** What a page shows when it cannot load. */
export function failure(view, error) {
  view.replaceChildren();
  if (error instanceof ApiError && error.status === 401) {
    auth.key = null;
    window.dispatchEvent(new Event("openqpu:auth"));
    view.append(signInNotice("see this page"));
  } else if (error instanceof ApiError && error.status === 404) {
    view.append(h("section", { class: "notice not-found" }, h("h1", {}, "Not found"),
      h("p", {}, error.message)));
  } else {
    view.append(h("section", { class: "notice error" }, h("h1", {}, "Something went wrong"),
      h("p", {}, error.message || String(error))));
  }
}

/** The one "sign in needed" notice: what a key is for, and the way to sign in. */
export function signInNotice(what, { heading = "h1" } = {}) {
  return h("section", { class: "notice", "data-notice": "sign-in" }, h(heading, {}, "Sign in needed"),
    h("p", {}, `Sign in with your API key to ${what}. `, h("a", { href: "#/signin" }, "Sign in"), "."));
}

/** Pages that need a key call this first; it shows the sign-in prompt and returns false. */
export function needKey(view, what) {
  if (auth.signedIn) return true;
  view.replaceChildren(signInNotice(what));
  return false;
}

