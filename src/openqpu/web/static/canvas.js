// The composer's canvas: qubit wires as rows of cells (an ARIA grid: one cell per wire and
// time step, one of them in the tab order), and dragging with the pointer (mouse, pen or
// touch) from the palette or from a placed gate.

import { h } from "./dom.js";
import { GATE } from "./gates.js";
import { numColumns, opAt, span } from "./circuit.js";

/** How an operation's qubit `qubit` is drawn: its role and its text. */
function part(op, qubit) {
  const gate = GATE.get(op.name);
  const k = op.qubits.indexOf(qubit);
  if (op.name === "barrier") return ["barrier", ""];
  if (op.name === "measure") return ["gate", `M→${op.clbit}`];
  if (k < gate.controls) return ["control", ""];
  if (gate.symbol === "plus") return ["target plus", ""];
  if (gate.symbol === "dot") return ["target dot", ""];
  if (gate.symbol === "cross") return ["target cross", "×"];
  return ["gate", gate.label, op.params.map((p) => p.replaceAll("pi", "π")).join(", ")];
}

/** What a screen reader hears for the operation at a cell. */
function describe(circuit, op, qubit) {
  const gate = GATE.get(op.name);
  const params = op.params.length ? `(${op.params.join(", ")})` : "";
  const name = `${op.name.toUpperCase()}${params}`;
  if (!op.qubits.includes(qubit)) return `wire crossed by ${name}`;
  if (op.name === "measure") return `measure into bit ${op.clbit}`;
  if (op.qubits.length === 1) return name;
  const k = op.qubits.indexOf(qubit);
  const others = op.qubits.filter((q) => q !== qubit).map((q) => `${circuit.qreg}[${q}]`).join(", ");
  const role = op.name === "barrier" ? "barrier" : k < gate.controls ? "control" : "target";
  return `${role} of ${name} with ${others}`;
}

/**
 * The grid of `circuit`: `cursor` {qubit, col} is the cell in the tab order; `marks`
 * {picking: op index, holding: op index} highlight an operation being edited.
 */
export function drawGrid(circuit, { cursor, marks = {}, disabled = false }) {
  const columns = numColumns(circuit);
  const grid = h("div", { class: "grid", role: "grid", id: "canvas",
    "aria-label": `Circuit: ${circuit.qubits} qubits, ${columns} steps`, "aria-disabled": disabled ? "true" : null });
  for (let qubit = 0; qubit < circuit.qubits; qubit++) {
    const row = h("div", { role: "row", class: "wire", "data-qubit": qubit },
      h("div", { role: "rowheader", class: "wire-label" }, `${circuit.qreg}[${qubit}]`));
    for (let col = 0; col < columns; col++) {
      const found = opAt(circuit, qubit, col);
      const here = cursor.qubit === qubit && cursor.col === col;
      const classes = ["cell"];
      let content = null, label = "empty";
      if (found) {
        const { op, index, own } = found;
        const [lo, hi] = span(op);
        if (qubit > lo) classes.push("link-up");
        if (qubit < hi) classes.push("link-down");
        if (op.name === "barrier") classes.push("barrier");
        if (marks.picking === index || marks.holding === index) classes.push("marked");
        label = describe(circuit, op, qubit);
        if (own) {
          const [role, text, params] = part(op, qubit);
          content = h("span", { class: `op ${role}`, "data-op": index, "data-gate": op.name,
            "data-qubit-index": op.qubits.indexOf(qubit) }, text, params ? h("small", { class: "params" }, params) : null);
        }
      }
      row.append(h("div", { role: "gridcell", class: classes.join(" "), "data-qubit": qubit, "data-col": col,
        tabindex: here ? 0 : -1, "aria-selected": here ? "true" : "false",
        "aria-label": `${circuit.qreg}[${qubit}], step ${col + 1}: ${label}` }, content));
    }
    grid.append(row);
  }
  return grid;
}

/** The cell under a point, as {qubit, col}, or null. */
export function cellAt(x, y) {
  const cell = document.elementFromPoint(x, y)?.closest(".grid .cell");
  return cell ? { qubit: Number(cell.dataset.qubit), col: Number(cell.dataset.col) } : null;
}

/**
 * Let `root` start drags: `start(event)` says what a press on its target would drag
 * ({label} or null); a release past a few pixels calls `drop(what, cell, event)` with the
 * cell under the pointer (or null), a release without moving calls `tap(what, event)`.
 */
export function draggable(root, { start, drop, tap, signal }) {
  let pressed = null;
  const ghost = h("div", { class: "drag-ghost", "aria-hidden": "true" });
  const finish = () => {
    pressed = null;
    ghost.remove();
    document.querySelectorAll(".cell.drop-target").forEach((cell) => cell.classList.remove("drop-target"));
  };
  root.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const what = start(event);
    if (!what) return;
    pressed = { what, x: event.clientX, y: event.clientY, moved: false };
    event.preventDefault();  // no text selection, no native drag of the button
  });
  window.addEventListener("pointermove", (event) => {
    if (!pressed) return;
    if (!pressed.moved && Math.hypot(event.clientX - pressed.x, event.clientY - pressed.y) < 5) return;
    if (!pressed.moved) {
      pressed.moved = true;
      ghost.textContent = pressed.what.label;
      document.body.append(ghost);
    }
    ghost.style.left = `${event.clientX + 8}px`;
    ghost.style.top = `${event.clientY + 8}px`;
    document.querySelectorAll(".cell.drop-target").forEach((cell) => cell.classList.remove("drop-target"));
    document.elementFromPoint(event.clientX, event.clientY)?.closest(".grid .cell")?.classList.add("drop-target");
  }, { signal });
  window.addEventListener("pointerup", (event) => {
    if (!pressed) return;
    const { what, moved } = pressed;
    finish();
    if (moved) drop(what, cellAt(event.clientX, event.clientY), event);
    else tap(what, event);
  }, { signal });
  window.addEventListener("pointercancel", finish, { signal });
}
