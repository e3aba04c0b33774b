// history.js - an agent's command history: one row per command, updated
// live from the feed.  A click (or Enter) on a row opens its output right
// under it, in place, and scrolls it into view if it is not; a second click
// closes it.
"use strict";

import * as api from "./api.js";
import { h, clock } from "./dom.js";

const COLUMNS = ["When", "Type", "Command", "By", "Status", "Exit"];
const CLASSES = ["when", "type", "cmdline", "by", "status", "exit"];   // app.css

// "done, exit 0", "timeout", "failed: why", "done, exit 1, output truncated"
export function outcome(c) {
  if (!c) return "the stream ended early";
  let s = c.status;
  if (c.exit !== null && c.exit !== undefined) s += ", exit " + c.exit;
  if (c.truncated) s += ", output truncated";
  if (c.error) s += ": " + c.error;
  return s;
}

export class History {
  constructor(name) {
    this.name = name;
    this.rows = new Map();     // command id -> tr
    this.openId = null;        // the command whose output is shown
    this.body = h("tbody", { id: "history" });
    this.out = h("pre", { class: "output", id: "history-out" });
    this.outRow = h("tr", { class: "out" }, h("td", { colspan: String(COLUMNS.length) }, this.out));
    this.el = h("div", { class: "scroll" }, h("table", { class: "stack" },
      h("thead", {}, h("tr", {}, COLUMNS.map((x) => h("th", {}, x)))), this.body));
  }

  row(c) {
    let tr = this.rows.get(c.id);
    const what = c.cmd || c.arg || "";
    const cells = [clock(c.created), c.type, what, c.requested_by || "",
      c.status, c.exit === null || c.exit === undefined ? "" : String(c.exit)];
    if (!tr) {
      tr = h("tr", { dataset: { id: c.id }, tabindex: "0",
        onclick: () => this.toggle(c.id),
        onkeydown: (e) => { if (e.key === "Enter") this.toggle(c.id); } },
      CLASSES.map((c) => h("td", { class: c })));
      this.rows.set(c.id, tr);
    }
    cells.forEach((v, i) => { tr.children[i].textContent = v; });
    tr.children[2].title = what;
    tr.className = "cmd-" + c.status + (c.id === this.openId ? " open" : "");
    return tr;
  }

  async load() {
    try {
      const doc = await api.get("/api/commands?limit=50&agent=" + encodeURIComponent(this.name));
      for (const c of doc.commands) {
        if (!this.rows.has(c.id)) this.body.appendChild(this.row(c));
      }
    } catch (e) { /* the table stays empty */ }
  }

  onCommand(c) {
    if (c.agent !== this.name) return;
    const known = this.rows.has(c.id);
    const tr = this.row(c);
    if (!known) this.body.prepend(tr);
  }

  close() {
    const tr = this.rows.get(this.openId);
    if (tr) tr.classList.remove("open");
    this.openId = null;
    this.outRow.remove();
  }

  async toggle(id) {
    if (this.openId === id) {
      this.close();
      return;
    }
    this.close();
    const tr = this.rows.get(id);
    this.openId = id;
    tr.classList.add("open");
    this.out.textContent = "loading " + id + "…";
    tr.after(this.outRow);
    let text;
    try {
      const c = await api.get("/api/commands/" + encodeURIComponent(id));
      const what = c.cmd || c.arg;
      text = c.id + " " + c.type + (what ? " " + what : "") + " — " + outcome(c) +
        "\n" + (c.output || "");
    } catch (e) {
      text = id + ": " + e.message;
    }
    if (this.openId !== id) return;
    this.out.textContent = text;
    this.out.scrollTop = 0;
    this.outRow.scrollIntoView({ block: "nearest" });
  }
}
