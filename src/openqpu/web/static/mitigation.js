// The job kind (sample or estimate), the observables of an estimate job, and its error
// mitigation on a chip: the resilience level and the main options, named as Qiskit
// Runtime's EstimatorOptions (the server checks them and names a bad one).

import { h } from "./dom.js";

const EXTRAPOLATORS = [["", "server default"], ["exponential", "exponential"], ["linear", "linear"],
  ["polynomial_degree_2", "quadratic"], ["exponential,linear", "exponential or linear"]];
const SEQUENCES = ["XX", "XpXm", "XY4"];
const TERM = /^\s*([+-]?)\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)\s*\*?\s*)?([IXYZ]+)\s*/;

/**
 * One line of the observables box as [[label, coefficient], ...]: "ZZ", "0.5*ZZ - 0.2*XI".
 * What does not read as Pauli terms is sent as it is, so the server's refusal names it.
 */
export function parseObservable(line) {
  const terms = [];
  let rest = line.trim();
  while (rest) {
    const match = TERM.exec(rest);
    if (!match || (terms.length && !match[1]) || !match[0].length) return [[line.trim(), 1]];
    const value = match[2] ? Number(match[2]) : 1;
    terms.push([match[3], match[1] === "-" ? -value : value]);
    rest = rest.slice(match[0].length);
  }
  return terms;
}

function labelled(label, id, control, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
    hint && h("small", { class: "muted" }, hint));
}

/**
 * The controls, and `apply(request, isChip)` that adds their fields to a job's request
 * body. `readout` is the readout mitigation checkbox: an estimate job with a resilience
 * level takes its readout correction from TREX instead, so the box is disabled then.
 */
export function mitigationOptions(readout) {
  const kind = h("select", { id: "kind", name: "kind" },
    h("option", { value: "sample", selected: true }, "sample (counts)"),
    h("option", { value: "estimate" }, "estimate (expectation values)"));
  const observables = h("textarea", { id: "observables", name: "observables", rows: 3,
    spellcheck: "false", placeholder: "ZZ\n0.5*XX - 0.5*YY" });
  const level = h("select", { id: "resilience-level", name: "resilience_level" },
    h("option", { value: "", selected: true }, "none"),
    h("option", { value: "0" }, "0: no mitigation"),
    h("option", { value: "1" }, "1: TREX (readout)"),
    h("option", { value: "2" }, "2: TREX, gate twirling, ZNE"));
  const factors = h("input", { id: "noise-factors", name: "noise_factors", placeholder: "1, 3, 5" });
  const extrapolator = h("select", { id: "extrapolator", name: "extrapolator" },
    EXTRAPOLATORS.map(([value, text]) => h("option", { value }, text)));
  const randomizations = h("input", { id: "randomizations", name: "num_randomizations",
    type: "number", min: 1, placeholder: "auto" });
  const dd = h("input", { id: "dd", name: "dynamical_decoupling", type: "checkbox" });
  const sequence = h("select", { id: "dd-sequence", name: "sequence_type" },
    SEQUENCES.map((name) => h("option", { value: name }, name)));
  const estimateOnly = h("div", { class: "row", "data-part": "estimate" },
    labelled("Observables", "observables", observables, "one per line; rightmost letter is qubit 0"),
    labelled("Resilience level", "resilience-level", level, "chips only"));
  const fine = h("div", { class: "row", "data-part": "resilience" },
    labelled("ZNE noise factors", "noise-factors", factors, "level 2; blank: 1, 3, 5"),
    labelled("Extrapolator", "extrapolator", extrapolator, "level 2"),
    labelled("Twirling randomizations", "randomizations", randomizations, "blank: auto"),
    h("div", { class: "field check" }, dd, h("label", { for: "dd" }, "Dynamical decoupling")),
    labelled("DD sequence", "dd-sequence", sequence));

  let chip = false;
  const update = (isChip = chip) => {
    chip = isChip;
    const estimate = kind.value === "estimate";
    estimateOnly.hidden = !estimate;
    level.disabled = !chip;
    fine.hidden = !estimate || !chip || level.value === "";
    const zne = level.value === "2";
    factors.disabled = !zne;
    extrapolator.disabled = !zne;
    randomizations.disabled = level.value === "0";
    sequence.disabled = !dd.checked;
    readout.disabled = !chip || (estimate && level.value !== "");
  };
  for (const control of [kind, level, dd]) control.addEventListener("change", () => update());

  const options = () => {
    const chosen = { resilience_level: Number(level.value) };
    if (!factors.disabled && factors.value.trim()) {
      chosen.resilience = { zne: { noise_factors: factors.value.split(/[\s,]+/).filter(Boolean).map(Number) } };
    }
    if (!extrapolator.disabled && extrapolator.value) {
      const names = extrapolator.value.split(",");
      chosen.resilience = chosen.resilience || { zne: {} };
      chosen.resilience.zne.extrapolator = names.length === 1 ? names[0] : names;
    }
    if (!randomizations.disabled && randomizations.value !== "") {
      chosen.twirling = { num_randomizations: Number(randomizations.value) };
    }
    if (dd.checked) chosen.dynamical_decoupling = { enable: true, sequence_type: sequence.value };
    return chosen;
  };
  const apply = (request) => {
    if (kind.value !== "estimate") return request;
    request.kind = "estimate";
    request.observables = observables.value.split("\n").filter((line) => line.trim())
      .map(parseObservable);
    if (chip && level.value !== "") request.options = options();
    return request;
  };
  return { kind, parts: [estimateOnly, fine], update, apply };
}
