// termview.js - an xterm.js terminal in an element of the page: the live
// one of the Terminal tab (terminal.js) and the replays (replay.js).
//
// xterm.js and its fit addon come from npm (pinned in package-lock.json);
// the build copies them to /vendor/ and the hub serves them like the rest
// of the dashboard, no CDN.  They are imported on first use, so a page that
// shows no terminal never loads them.  termcsp.js keeps them within the
// hub's CSP.
//
// Copy and paste: select with the mouse, then Ctrl+Shift+C (or
// Ctrl+Insert) copies; Ctrl+Shift+V (or Shift+Insert) pastes.  Ctrl+C and
// Ctrl+V go to the remote program, as in any terminal on Linux; on a Mac
// Cmd+C and Cmd+V work as usual.
//
// Each terminal's element has one test hook, el.terminalText(): the text
// of the terminal's active buffer, line by line (nothing on window), and
// data-cols / data-rows with its size.
"use strict";

import { install, openTerminal } from "./termcsp.js";

const THEME = {
  background: "#111827", foreground: "#e5e7eb", cursor: "#e5e7eb", cursorAccent: "#111827",
  selectionBackground: "#3b82f680",
};

let lib = null;

// {Terminal, FitAddon}, imported once.  A failed import (vendor/ missing:
// the build was not run) may be tried again.
function load() {
  if (!lib) {
    lib = Promise.all([import("../vendor/xterm.mjs"), import("../vendor/addon-fit.mjs")])
      .then(([x, f]) => ({ Terminal: x.Terminal, FitAddon: f.FitAddon }));
    lib.catch(() => { lib = null; });
  }
  return lib;
}

function copy(term) {
  const text = term.getSelection();
  if (!text) return;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).catch(() => {});
  } else {
    document.execCommand("copy");     // xterm.js answers the copy event
  }
}

// Ctrl+Shift+C / Ctrl+Insert copy; Ctrl+Shift+V / Shift+Insert are left
// to the browser, whose paste event xterm.js types into the terminal.
function keys(term, e) {
  if (e.type !== "keydown") return true;
  const k = e.key.toLowerCase();
  if ((e.ctrlKey && e.shiftKey && k === "c") || (e.ctrlKey && !e.shiftKey && k === "insert")) {
    copy(term);
    e.preventDefault();
    return false;
  }
  return !((e.ctrlKey && e.shiftKey && k === "v") || (e.shiftKey && !e.ctrlKey && k === "insert"));
}

function bufferText(term) {
  const b = term.buffer.active;
  const lines = [];
  for (let i = 0; i < b.length; i++) {
    const l = b.getLine(i);
    lines.push(l ? l.translateToString(true) : "");
  }
  return lines.join("\n");
}

export class TermView {
  // A terminal filling el.  opts: {cols, rows} for a fixed size (a
  // replay), else it fits el (which needs a height); input: false for a
  // terminal that takes no keys (a replay).
  static async create(el, opts) {
    const { Terminal, FitAddon } = await load();
    install();
    return new TermView(el, opts || {}, Terminal, FitAddon);
  }

  constructor(el, opts, Terminal, FitAddon) {
    this.el = el;
    this.term = new Terminal({
      cols: opts.cols || 80, rows: opts.rows || 24,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace', fontSize: 13,
      theme: THEME, scrollback: 5000, cursorBlink: opts.input !== false,
      disableStdin: opts.input === false,
    });
    this.fitter = null;
    if (!opts.cols) {
      this.fitter = new FitAddon();
      this.term.loadAddon(this.fitter);
    }
    this.term.attachCustomKeyEventHandler((e) => keys(this.term, e));
    this.release = openTerminal(this.term, el);
    this.sized = this.term.onResize(() => this.mark());
    this.mark();
    el.terminalText = () => bufferText(this.term);
    this.fit();
  }

  mark() {
    this.el.dataset.cols = String(this.term.cols);
    this.el.dataset.rows = String(this.term.rows);
  }

  // Fit the terminal to its element, if it fits one and is shown.
  fit() {
    if (this.fitter && this.el.clientWidth > 0 && this.el.clientHeight > 0) this.fitter.fit();
  }

  dispose() {
    this.sized.dispose();
    this.term.dispose();
    this.release();
    delete this.el.terminalText;
    this.el.replaceChildren();
  }
}
