// The composer's editor: the palette, the canvas and the OpenQASM text, kept in step.
// A canvas edit rewrites the text; a text edit redraws the canvas when it can, and else
// locks the canvas and says which line it cannot draw (the text is never rewritten then).
// Every action has a key (KEYS_HELP); undo and redo cover both the canvas and the text.

import { h } from "./dom.js";
import { GATE, GATES, GROUPS, angle } from "./gates.js";
import { MAX_QUBITS, addQubit, copyOf, emptyCircuit, measureAll, newOp, numColumns, opAt, put, remove,
  removeQubit, update } from "./circuit.js";
import { draggable, drawGrid } from "./canvas.js";
import { parseQasm, toQasm } from "./qasm.js";

const HISTORY = 200;
// Typing within this long of the last keystroke is one undo step.
const TYPING_MS = 1000;

export const KEYS_HELP = [
  ["Tab", "moves between the palette, the canvas, the text and the buttons"],
  ["Arrows", "move on the canvas (wires and steps) and along the palette"],
  ["G", "on the canvas: go to the palette; there, type a gate's name (h, cx, rz…) to jump to it"],
  ["Enter or Space", "in the palette: choose the gate and return to the canvas; on the canvas: place "
    + "the chosen gate, or edit the angles of the gate there"],
  ["↑ ↓, then Enter", "after placing a two- or three-qubit gate: pick its other qubits (Escape keeps them)"],
  ["M, then Enter", "move the gate here: pick it up, go to the new place, put it down (Shift+M copies)"],
  ["Shift + arrows", "move the gate here one step or one wire"],
  ["Ctrl+C, Ctrl+X, Ctrl+V", "copy, cut, paste (before what is at the place)"],
  ["Delete", "remove the gate here"],
  ["Ctrl+Z, Ctrl+Y", "undo, redo"],
  ["Escape", "put the chosen gate back, or cancel a move or a pick"],
];

const wire = (circuit, q) => `${circuit.qreg}[${q}]`;
const wires = (circuit, qubits) => qubits.map((q) => wire(circuit, q)).join(", ");
const upper = (op) => op.name.toUpperCase();

/** The palette: a toolbar of gate buttons (arrow keys, type-ahead), each also draggable. */
function palette({ choose, back }) {
  const buttons = [];
  const groups = GROUPS.map(([group, title]) => h("div", { class: "palette-group", role: "group", "aria-label": title },
    h("span", { class: "palette-title", "aria-hidden": "true" }, title),
    h("div", { class: "palette-gates" }, GATES.filter((gate) => gate.group === group).map((gate) => {
      const button = h("button", { type: "button", class: "gate-button", "data-gate": gate.name, tabindex: -1,
        "aria-pressed": "false", title: gate.title, "aria-label": `${gate.button}: ${gate.title}` }, gate.button);
      buttons.push(button);
      return button;
    }))));
  buttons[0].tabIndex = 0;
  const bar = h("div", { class: "palette-bar", role: "toolbar", "aria-label": "Gates" }, groups);
  const focusButton = (button) => {
    for (const other of buttons) other.tabIndex = other === button ? 0 : -1;
    button.focus();
  };
  let typed = "", typedAt = 0;
  bar.addEventListener("focusin", (event) => { if (!bar.contains(event.relatedTarget)) typed = ""; });
  bar.addEventListener("keydown", (event) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    if (!/^[a-z]$/i.test(event.key)) typed = "";
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (step) focusButton(buttons[(at + step + buttons.length) % buttons.length]);
    else if (event.key === "Home") focusButton(buttons[0]);
    else if (event.key === "End") focusButton(buttons[buttons.length - 1]);
    else if (event.key === "Escape") back();
    else if (/^[a-z]$/i.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      typed = Date.now() - typedAt < 800 ? typed + event.key.toLowerCase() : event.key.toLowerCase();
      typedAt = Date.now();
      const found = buttons.find((b) => b.dataset.gate === typed) || buttons.find((b) => b.dataset.gate.startsWith(typed));
      if (found) focusButton(found);
    } else return;
    event.preventDefault();
  });
  // A click chooses the gate: the mouse's, and Enter's or Space's (event.detail 0).
  bar.addEventListener("click", (event) => {
    const button = event.target.closest(".gate-button");
    if (button) choose(button.dataset.gate, { fromKeyboard: event.detail === 0 });
  });
  return {
    element: bar,
    buttons,
    show: (chosen) => buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.gate === chosen))),
    focus: () => focusButton(buttons.find((b) => b.tabIndex === 0) || buttons[0]),
    lock: (locked) => buttons.forEach((b) => { b.disabled = locked; }),
  };
}

/**
 * The editor. `onChange({text, version, circuit, drawable, editedAt})` follows every change.
 * Returns its parts (palette, canvas, text, version select, notices) and `load(text)`.
 */
export function editor({ signal, onChange }) {
  let circuit = emptyCircuit(2);
  let version = 2;
  let drawable = true;  // the text is the canvas's circuit: the canvas may be edited
  let cursor = { qubit: 0, col: 0 };
  let chosen = null, picking = null, holding = null, clipboard = null;
  const past = [], future = [];
  let lastTyping = -Infinity, editedAt = performance.now();
  let current = "";  // the text as of the last change: what an undo step keeps

  const status = h("p", { class: "composer-status", id: "composer-status", role: "status" },
    "Drag a gate onto a wire, or choose one and press Enter on the canvas.");
  const say = (message) => { status.textContent = message; };
  const notice = h("div", { id: "canvas-notice" });
  const holder = h("div", { class: "canvas-scroll" });
  const inspector = h("div", { class: "inspector", id: "inspector" });
  const text = h("textarea", { id: "composer-source", rows: 16, spellcheck: "false", autocomplete: "off",
    "aria-describedby": "composer-error" });
  const versionSelect = h("select", { id: "qasm-version" },
    h("option", { value: "2" }, "OpenQASM 2"), h("option", { value: "3" }, "OpenQASM 3"));
  const gates = palette({ choose: (name, how) => choose(name, how), back: () => focusCursor() });

  // ---- drawing ---------------------------------------------------------------------------
  const focusCursor = () => holder.querySelector(".cell[tabindex='0']")?.focus();
  const draw = ({ focus = holder.contains(document.activeElement) } = {}) => {
    cursor = { qubit: Math.max(0, Math.min(cursor.qubit, circuit.qubits - 1)),
      col: Math.max(0, Math.min(cursor.col, numColumns(circuit) - 1)) };
    holder.replaceChildren(drawGrid(circuit, { cursor, disabled: !drawable,
      marks: { picking: picking?.index, holding: holding?.index } }));
    gates.show(chosen);
    gates.lock(!drawable);
    for (const button of tools.querySelectorAll("[data-needs-canvas]")) button.disabled = !drawable;
    drawInspector();
    if (focus) focusCursor();
  };
  const drawInspector = () => {
    const found = opAt(circuit, cursor.qubit, cursor.col);
    if (!found || !found.own || !drawable) { inspector.replaceChildren(); return; }
    const { op, index } = found;
    const gate = GATE.get(op.name);
    const inputs = gate.params.map((param, k) => {
      const id = `param-${k}`;
      const message = h("small", { class: "error", id: `${id}-error`, role: "alert" });
      const input = h("input", { id, type: "text", value: op.params[k], size: 10, spellcheck: "false",
        "aria-describedby": `${id}-error` });
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === "Escape") {
          event.preventDefault();
          if (event.key === "Enter") input.dispatchEvent(new Event("change"));
          focusCursor();
        }
      });
      input.addEventListener("change", () => {
        try {
          angle(input.value);
        } catch (error) {
          message.textContent = error.message;
          input.setAttribute("aria-invalid", "true");
          return;
        }
        if (input.value.trim() === op.params[k]) return;
        const params = [...op.params];
        params[k] = input.value.trim();
        edit(update(circuit, index, { params }).circuit, `${upper(op)}: ${param} = ${params[k]}.`, { focus: false });
      });
      return h("span", { class: "field inline" }, h("label", { for: id }, `${param} =`), input, message);
    });
    inspector.replaceChildren(h("p", {}, h("strong", {}, gate.title), ` on ${wires(circuit, op.qubits)}`,
      op.name === "measure" ? ` into ${circuit.creg}[${op.clbit}]` : "",
      inputs.length ? " (angles: numbers, pi, + - * /; Enter applies)" : ""), ...inputs);
  };

  // ---- changes and history ---------------------------------------------------------------
  const changed = () => onChange({ text: text.value, version, circuit, drawable, editedAt });
  const setText = (value) => { text.value = value; current = value; };
  const snapshot = () => ({ circuit: copyOf(circuit), text: current, version, drawable,
    notice: [...notice.childNodes] });
  const record = () => {
    past.push(snapshot());
    if (past.length > HISTORY) past.shift();
    future.length = 0;
  };
  const restore = (shot) => {
    ({ version, drawable } = shot);
    circuit = copyOf(shot.circuit);
    setText(shot.text);
    versionSelect.value = String(version);
    notice.replaceChildren(...shot.notice);
    picking = holding = null;
    editedAt = performance.now();
    draw({ focus: holder.contains(document.activeElement) });
    changed();
  };
  const undo = () => {
    if (!past.length) { say("Nothing to undo."); return; }
    future.push(snapshot());
    restore(past.pop());
    say("Undone.");
  };
  const redo = () => {
    if (!future.length) { say("Nothing to redo."); return; }
    past.push(snapshot());
    restore(future.pop());
    say("Redone.");
  };
  /** A canvas edit: the new circuit, and the text written from it. */
  const edit = (next, message, { focus = true, keepPicking = false } = {}) => {
    if (!drawable) { say("The canvas is locked while the text has lines it cannot draw."); return; }
    if (!keepPicking) picking = null;
    holding = null;
    record();
    circuit = next;
    setText(toQasm(circuit, version));
    editedAt = performance.now();
    lastTyping = -Infinity;
    if (message) say(message);
    draw({ focus });
    changed();
  };
  /** The text changed: redraw the canvas from it when it can be drawn, else lock the canvas. */
  const readText = () => {
    editedAt = performance.now();
    try {
      const parsed = parseQasm(text.value);
      circuit = parsed.circuit;
      version = parsed.version;
      versionSelect.value = String(version);
      drawable = true;
      notice.replaceChildren();
    } catch (error) {
      if (!error.line) throw error;
      drawable = false;
      notice.replaceChildren(h("div", { class: "notice-inline", "data-line": error.line },
        h("p", {}, h("strong", {}, `The canvas cannot draw line ${error.line}: `), `${error.message}.`),
        h("p", {}, "It shows the last circuit it could draw and is locked, so that nothing in the text is lost; "
          + "the live state, the estimate and submit read the text as written."),
        h("button", { type: "button", class: "secondary", id: "text-from-canvas", onclick: () => {
          record();
          drawable = true;
          notice.replaceChildren();
          setText(toQasm(circuit, version));
          editedAt = performance.now();
          say("The text is the canvas's again.");
          draw();
          changed();
        } }, "Replace the text with the canvas")));
    }
    picking = holding = null;
    draw({ focus: false });
    changed();
  };
  text.addEventListener("input", () => {
    const now = performance.now();
    if (now - lastTyping > TYPING_MS) record();  // one undo step per burst of typing
    lastTyping = now;
    current = text.value;
    readText();
  });
  versionSelect.addEventListener("change", () => {
    if (!drawable) {
      versionSelect.value = String(version);
      say("The text has lines the canvas cannot draw, so it is not rewritten: change its header yourself.");
      return;
    }
    record();
    version = Number(versionSelect.value);
    setText(toQasm(circuit, version));
    editedAt = performance.now();
    say(`The text is now OpenQASM ${version}.`);
    changed();
  });

  // ---- placing, picking, moving ----------------------------------------------------------
  const choose = (name, { fromKeyboard = false } = {}) => {
    if (!drawable) return;
    chosen = chosen === name && !fromKeyboard ? null : name;
    gates.show(chosen);
    say(chosen ? `${chosen.toUpperCase()} chosen: press Enter on a wire position, or click one, to place it.`
      : "No gate chosen.");
    if (chosen && fromKeyboard) focusCursor();
  };
  const pickingHelp = (op, slot) => {
    const role = slot < GATE.get(op.name).controls ? "control" : "target";
    return `${upper(op)} placed on ${wires(circuit, op.qubits)}. Pick its ${role} (now ${wire(circuit, op.qubits[slot])}): `
      + `click a wire in step ${op.col + 1}, or press ↑/↓ then Enter; Escape keeps it.`;
  };
  const place = (name, qubit, col) => {
    const gate = GATE.get(name);
    if (gate.qubits > circuit.qubits) { say(`${name.toUpperCase()} needs ${gate.qubits} wires: add a qubit first.`); return; }
    const { circuit: next, index } = put(circuit, newOp(name, qubit, circuit.qubits), col);
    const op = next.ops[index];
    picking = gate.qubits > 1 && name !== "barrier" ? { index, slot: 1 } : null;
    cursor = { qubit: op.qubits[picking ? 1 : 0], col: op.col };
    edit(next, picking ? pickingHelp(op, 1) : `${upper(op)} placed on ${wire(next, op.qubits[0])}, step ${op.col + 1}.`,
      { keepPicking: true });
  };
  /** Give the operation being picked its next qubit. */
  const pick = (qubit) => {
    const op = circuit.ops[picking.index];
    if (op.qubits.some((q, k) => q === qubit && k !== picking.slot)) {
      say(`${wire(circuit, qubit)} is already one of this gate's qubits: pick another.`);
      return;
    }
    const qubits = [...op.qubits];
    if (qubits[picking.slot] === qubit) {  // kept as it is: nothing to undo
      const slot = picking.slot + 1;
      picking = slot < qubits.length ? { index: picking.index, slot } : null;
      if (picking) cursor = { qubit: qubits[slot], col: op.col };
      say(picking ? pickingHelp(op, slot) : `${upper(op)} on ${wires(circuit, qubits)}.`);
      draw({ focus: true });
      return;
    }
    qubits[picking.slot] = qubit;
    const { circuit: next, index } = update(circuit, picking.index, { qubits });
    const slot = picking.slot + 1;
    const moved = next.ops[index];
    picking = slot < qubits.length ? { index, slot } : null;
    cursor = { qubit: picking ? moved.qubits[slot] : qubit, col: moved.col };
    edit(next, picking ? pickingHelp(moved, slot) : `${upper(op)} on ${wires(circuit, qubits)}.`, { keepPicking: true });
  };
  /** Move (or copy) operation `index` so that its qubit `slot` lands on `qubit`, at `col`. */
  const moveOp = (index, qubit, col, { copy = false, where = "before", slot = 0 } = {}) => {
    const op = circuit.ops[index];
    const shift = qubit - op.qubits[slot];
    const qubits = op.qubits.map((q) => q + shift);
    if (qubits.some((q) => q < 0 || q >= circuit.qubits)) { say("It does not fit there: a qubit would be off the wires."); return; }
    const moved = { ...op, qubits };
    if (op.name === "measure" && qubits[0] < circuit.clbits) moved.clbit = qubits[0];
    const { circuit: next, index: at } = put(circuit, moved, col, { without: copy ? null : index, where });
    cursor = { qubit, col: next.ops[at].col };
    edit(next, `${upper(op)} ${copy ? "copied" : "moved"} to ${wire(circuit, qubits[0])}, step ${cursor.col + 1}.`);
  };
  /** Re-aim qubit `slot` of operation `index` (a control or a target) at `qubit`. */
  const setQubit = (index, slot, qubit) => {
    const op = circuit.ops[index];
    if (op.qubits.some((q, k) => q === qubit && k !== slot)) { say(`${wire(circuit, qubit)} is already one of its qubits.`); return; }
    const qubits = [...op.qubits];
    qubits[slot] = qubit;
    const { circuit: next, index: at } = update(circuit, index, { qubits });
    cursor = { qubit, col: next.ops[at].col };
    edit(next, `${upper(op)} now on ${wires(circuit, qubits)}.`);
  };
  const removeAt = ({ qubit, col }) => {
    const found = opAt(circuit, qubit, col);
    if (!found) { say("Nothing to remove here."); return; }
    picking = holding = null;
    edit(remove(circuit, found.index), `${upper(found.op)} removed.`);
  };
  const copyAt = ({ qubit, col }, { cut = false } = {}) => {
    const found = opAt(circuit, qubit, col);
    if (!found || !found.own) { say("No gate here to copy."); return; }
    clipboard = copyOf(found.op);
    say(`${upper(found.op)} ${cut ? "cut" : "copied"}: Ctrl+V (or Paste) puts it at the place chosen.`);
    if (cut) removeAt({ qubit, col });
  };
  const paste = ({ qubit, col }) => {
    if (!clipboard) { say("Nothing copied yet."); return; }
    const qubits = clipboard.qubits.map((q) => q - clipboard.qubits[0] + qubit);
    if (qubits.some((q) => q >= circuit.qubits)) { say("It does not fit there: a qubit would be off the wires."); return; }
    const op = { ...copyOf(clipboard), qubits };
    if (op.name === "measure" && qubit < circuit.clbits) op.clbit = qubit;
    const { circuit: next, index } = put(circuit, op, col);
    cursor = { qubit, col: next.ops[index].col };
    edit(next, `${upper(op)} pasted on ${wire(circuit, qubit)}, step ${cursor.col + 1}.`);
  };

  // ---- keyboard on the canvas --------------------------------------------------------------
  holder.addEventListener("focusin", (event) => {
    const cell = event.target.closest(".cell");
    if (!cell) return;
    const at = { qubit: Number(cell.dataset.qubit), col: Number(cell.dataset.col) };
    if (at.qubit === cursor.qubit && at.col === cursor.col) return;
    cursor = at;
    draw({ focus: true });
  });
  const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const enter = () => {
    if (!drawable) say("The canvas is locked while the text has lines it cannot draw.");
    else if (picking) pick(cursor.qubit);
    else if (holding) {
      const { index, copy, slot } = holding;
      holding = null;
      moveOp(index, cursor.qubit, cursor.col, { copy, slot });
    } else if (chosen) place(chosen, cursor.qubit, cursor.col);
    else if (inspector.querySelector("input")) inspector.querySelector("input").focus();
    else say("Choose a gate first: G goes to the palette.");
  };
  const escape = () => {
    if (picking) { picking = null; say("The gate keeps its qubits."); }
    else if (holding) { holding = null; say("Move cancelled."); }
    else if (chosen) { chosen = null; say("No gate chosen."); }
    draw({ focus: true });
  };
  holder.addEventListener("keydown", (event) => {
    if (!event.target.closest(".cell")) return;
    const key = event.key, lower = key.toLowerCase();
    const ctrl = event.ctrlKey || event.metaKey;
    const go = (qubit, col) => { cursor = { qubit, col }; draw({ focus: true }); };
    if (steps[key] && event.shiftKey) {
      const found = opAt(circuit, cursor.qubit, cursor.col);
      if (!found || !found.own) say("No gate here to move.");
      else {
        const [dq, dc] = steps[key];
        const slot = found.op.qubits.indexOf(cursor.qubit);
        moveOp(found.index, cursor.qubit + dq, found.op.col + dc, { slot, where: dc > 0 ? "after" : "before" });
      }
    } else if (steps[key]) {
      const [dq, dc] = steps[key];
      if (picking && dc) say("Pick with ↑/↓ in this step, then Enter (Escape keeps the qubits).");
      else go(cursor.qubit + dq, cursor.col + dc);
    } else if (key === "Home" || key === "End") go(cursor.qubit, key === "Home" ? 0 : Infinity);
    else if (key === "Enter" || key === " ") enter();
    else if (key === "Escape") escape();
    else if (key === "Delete" || key === "Backspace") removeAt(cursor);
    else if (ctrl && lower === "z") { if (event.shiftKey) redo(); else undo(); }
    else if (ctrl && lower === "y") redo();
    else if (ctrl && lower === "c") copyAt(cursor);
    else if (ctrl && lower === "x") copyAt(cursor, { cut: true });
    else if (ctrl && lower === "v") paste(cursor);
    else if (!ctrl && lower === "g") gates.focus();
    else if (!ctrl && lower === "m") {
      const found = opAt(circuit, cursor.qubit, cursor.col);
      if (!found || !found.own || !drawable) say("No gate here to move.");
      else {
        holding = { index: found.index, copy: event.shiftKey, slot: found.op.qubits.indexOf(cursor.qubit) };
        say(`${upper(found.op)} picked up${event.shiftKey ? " to copy" : ""}: go to the new place and press Enter `
          + "(Escape cancels).");
        draw({ focus: true });
      }
    } else return;
    event.preventDefault();
  });

  // ---- the pointer: drag from the palette, drag placed gates, click to place or pick --------
  draggable(gates.element, {
    signal,
    start: (event) => {
      const button = event.target.closest(".gate-button");
      return button && !button.disabled ? { gate: button.dataset.gate, label: button.textContent } : null;
    },
    drop: (what, cell) => {
      if (cell) place(what.gate, cell.qubit, cell.col);
      else say("Dropped outside the canvas: nothing placed.");
    },
    tap: () => {},  // the button's click chooses it
  });
  draggable(holder, {
    signal,
    start: (event) => {
      const cell = event.target.closest(".cell");
      if (!cell) return null;
      const at = { qubit: Number(cell.dataset.qubit), col: Number(cell.dataset.col) };
      const mark = event.target.closest(".op");
      if (!mark || !drawable) return { at, label: "" };
      return { at, index: Number(mark.dataset.op), slot: Number(mark.dataset.qubitIndex), label: mark.textContent || "●" };
    },
    drop: (what, cell, event) => {
      if (!cell || what.index === undefined) return;
      // The first qubit carries the gate; a control or target dragged alone is re-aimed.
      if (what.slot > 0 && cell.col === circuit.ops[what.index].col) setQubit(what.index, what.slot, cell.qubit);
      else moveOp(what.index, cell.qubit, cell.col, { copy: event.ctrlKey || event.altKey, slot: what.slot });
    },
    tap: ({ at: { qubit, col } }) => {
      if (picking && circuit.ops[picking.index]?.col === col) pick(qubit);
      else if (chosen && drawable) { picking = null; place(chosen, qubit, col); }
      else { picking = null; cursor = { qubit, col }; draw({ focus: true }); }
    },
  });

  // ---- the toolbar -------------------------------------------------------------------------
  const tool = (label, onclick, attrs = {}) =>
    h("button", { type: "button", class: "secondary", onclick, "data-needs-canvas": "", ...attrs }, label);
  const tools = h("div", { class: "controls composer-tools", role: "toolbar", "aria-label": "Circuit" },
    tool("Undo", undo, { id: "undo", "aria-keyshortcuts": "Control+Z", "data-needs-canvas": null }),
    tool("Redo", redo, { id: "redo", "aria-keyshortcuts": "Control+Y", "data-needs-canvas": null }),
    tool("Copy", () => copyAt(cursor), { "aria-keyshortcuts": "Control+C" }),
    tool("Paste", () => paste(cursor), { "aria-keyshortcuts": "Control+V" }),
    tool("Delete", () => removeAt(cursor), { id: "delete-gate", "aria-keyshortcuts": "Delete" }),
    tool("Measure all", () => edit(measureAll(circuit), "Every qubit is measured at the end."), { id: "measure-all" }),
    tool("Add qubit", () => {
      if (circuit.qubits >= MAX_QUBITS) say(`The composer draws up to ${MAX_QUBITS} qubits.`);
      else edit(addQubit(circuit), `${wire(circuit, circuit.qubits)} added.`);
    }, { id: "add-qubit" }),
    tool("Remove qubit", () => {
      const next = removeQubit(circuit);
      if (next) edit(next, "The last wire is removed.");
      else say("The last wire has gates on it, or is the only one: it stays.");
    }, { id: "remove-qubit" }),
    tool("Clear", () => edit({ ...circuit, ops: [] }, "The canvas is empty."), { id: "clear" }));

  return {
    palette: gates.element, tools, status, notice, holder, inspector, text, versionSelect,
    say,
    /** Show `source` (a job's circuit, a saved one, the draft): undoable. */
    load(source) {
      if (current) record();
      setText(source);
      readText();
    },
  };
}
