// events.js - the event log: status changes, alerts and their delivery,
// silences, commands with who ran them; newest first, live from the feed.
"use strict";

import * as api from "./api.js";
import { h, $, clear, clock } from "./dom.js";

const KEEP = 500;

const FIRST = "first connection";    // the hub's detail for a new agent

// A command's event: who ran what, and how it ended, once.  detail is
// "ID KIND exit N" when it is done, "ID KIND STATUS" otherwise; cmd (when
// the hub has it) is the command line or container.
function command(e) {
  const [, kind, ...rest] = (e.detail || "").split(" ");
  const exit = rest[0] === "exit" ? ", exit " + rest[1] : "";
  const what = e.cmd ? (kind || "command") + " \u201c" + e.cmd + "\u201d" : kind || "a command";
  return (e.from || "?") + " ran " + what + ": " + e.to + exit;
}

// A line of text for an event (fields as /api/events gives them).
export function describe(e) {
  const d = e.detail ? " (" + e.detail + ")" : "";
  switch (e.type) {
    case "status":
      return e.detail === FIRST ? "first connection: " + e.to : e.from + " → " + e.to + d;
    case "command": return command(e);
    // alert: from = what happened, to = severity, detail = the message
    case "alert": return e.from + " alert (" + e.to + ")" + (e.detail ? ": " + e.detail : "");
    // delivery: from = channel, to = outcome
    case "delivery": return "via " + e.from + ": " + e.to + d;
    default: {
      const parts = [e.from, e.to].filter((x) => x);
      return parts.join(" → ") + d;
    }
  }
}

export class Events {
  constructor() {
    this.list = [];
    this.tbody = $("events");
    $("ev-filter").addEventListener("input", () => this.render());
    $("ev-type").addEventListener("change", () => this.render());
  }

  async load() {
    try {
      const doc = await api.get("/api/events?limit=" + KEEP);
      this.list = doc.events;
      this.render();
    } catch (e) {
      $("ev-note").textContent = "Events: " + e.message;
    }
  }

  add(e) {
    this.list.unshift(e);
    if (this.list.length > KEEP) this.list.length = KEEP;
    if (this.matches(e)) {
      this.tbody.prepend(this.row(e));
      while (this.tbody.children.length > KEEP) this.tbody.lastChild.remove();
    }
    this.fillTypes();
  }

  matches(e) {
    const q = $("ev-filter").value.trim().toLowerCase();
    const t = $("ev-type").value;
    if (t && e.type !== t) return false;
    return !q || (e.agent || "").toLowerCase().includes(q) ||
      describe(e).toLowerCase().includes(q) || (e.detail || "").toLowerCase().includes(q);
  }

  row(e) {
    const id = e.type === "command" && e.detail ? e.detail.split(" ")[0] : null;
    return h("tr", { class: "ev-" + e.type + (e.to ? " to-" + e.to : ""),
      title: id ? "command " + id : null },
    h("td", { class: "when" }, clock(e.ts)), h("td", { class: "type" }, e.type),
    h("td", { class: "agent" }, e.agent || ""), h("td", { class: "prose" }, describe(e)));
  }

  fillTypes() {
    const sel = $("ev-type");
    const have = new Set([...sel.options].map((o) => o.value));
    for (const e of this.list) {
      if (!have.has(e.type)) { sel.add(new Option(e.type, e.type)); have.add(e.type); }
    }
  }

  render() {
    clear(this.tbody);
    for (const e of this.list) if (this.matches(e)) this.tbody.appendChild(this.row(e));
    this.fillTypes();
    $("ev-note").textContent = this.list.length ? "" : "No events yet.";
  }
}
