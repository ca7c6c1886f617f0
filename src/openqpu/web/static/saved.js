// Circuits kept in this browser (localStorage): the composer's draft, and circuits saved
// by name. A browser that refuses storage (full, or private mode) throws from the writers.

const DRAFT = "openqpu.composer.draft";
const SAVED = "openqpu.composer.saved";

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch (error) {
    if (error instanceof SyntaxError) return null;  // not ours, or damaged: start afresh
    throw error;
  }
}

/** The draft left by the last visit: {text, version}, or null. */
export function loadDraft() {
  return read(DRAFT);
}

/** Keep the text on screen for the next visit; false when the browser refuses. */
export function saveDraft(draft) {
  try {
    localStorage.setItem(DRAFT, JSON.stringify(draft));
    return true;
  } catch (error) {
    if (error.name === "QuotaExceededError" || error.name === "SecurityError") return false;
    throw error;
  }
}

/** The circuits saved by name: {name: {text, version, saved_at}}. */
export function savedCircuits() {
  return read(SAVED) || {};
}

export function storeCircuit(name, { text, version }) {
  const all = savedCircuits();
  all[name] = { text, version, saved_at: new Date().toISOString() };
  localStorage.setItem(SAVED, JSON.stringify(all));
}

export function forgetCircuit(name) {
  const all = savedCircuits();
  delete all[name];
  localStorage.setItem(SAVED, JSON.stringify(all));
}
