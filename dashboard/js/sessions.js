// sessions.js - an agent's recorded terminal sessions (GET
// /api/sessions?agent=NAME), newest first, each with a Replay button that
// plays its recording above the list (replay.js).  The list reloads when
// the feed says a session with the agent opened or closed, when the
// Terminal tab is shown, and on Refresh.  Anyone signed in may
// see the list; a recording holds what the terminal showed, so replaying
// it needs an operator or admin token, as the hub says.
"use strict";

import * as api from "./api.js";
import { h, clock, duration, bytes } from "./dom.js";
import { Replay } from "./replay.js";

const LIMIT = 50;
const COLUMNS = ["Opened", "By", "Duration", "Ended", "Output", ""];
const CLASSES = ["when", "by", "dur", "end", "size", "act"];

function ended(s) {
  if (s.closed === null || s.closed === undefined) return "open";
  if (s.reason === "exit" && s.exit !== null && s.exit !== undefined) return "exit " + s.exit;
  return String(s.reason || "");
}

export class Sessions {
  constructor(name, app) {
    this.name = name;
    this.app = app;
    this.replay = new Replay();
    this.body = h("tbody", { id: "sessions" });
    this.note = h("span", { id: "sessions-note", class: "muted" });
    const refresh = h("button", { id: "sessions-refresh", type: "button", onclick: () => this.load() },
      "Refresh");
    this.el = h("div", {}, this.replay.el, h("div", { class: "term-bar" }, refresh, this.note),
      h("div", { class: "scroll" }, h("table", { class: "stack sessions" },
        h("thead", {}, h("tr", {}, COLUMNS.map((x) => h("th", {}, x)))), this.body)));
    this.loading = false;
    this.again = false;
  }

  canReplay() {
    return this.app.role === "operator" || this.app.role === "admin";
  }

  row(s) {
    const replay = h("button", { type: "button", class: "replay-btn", dataset: { id: s.id },
      disabled: !this.canReplay(),
      title: this.canReplay() ? "Replay this session" :
        "Replays need an operator or admin token (your token is a viewer token)",
      onclick: () => this.replay.open(s) }, "Replay");
    const out = bytes(s.bytes_out) + (s.truncated ? " (recording cut short)" : "");
    const cells = [clock(s.opened), s.user || "", s.closed === null || s.closed === undefined ?
      "" : duration(s.duration), ended(s), out, replay];
    return h("tr", { dataset: { id: s.id }, class: "sess-" + (s.reason || "open") },
      cells.map((c, i) => h("td", { class: CLASSES[i] }, c)));
  }

  // (Re)load the list: one request at a time, and one more after it when
  // asked meanwhile (a session ended while the list was on its way).
  async load() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const doc = await api.get("/api/sessions?limit=" + LIMIT + "&agent=" +
        encodeURIComponent(this.name));
      this.body.replaceChildren(...doc.sessions.map((s) => this.row(s)));
      this.note.textContent = doc.sessions.length ? "" :
        "No terminal sessions with " + this.name + " yet.";
    } catch (e) {
      this.note.textContent = "Sessions: " + e.message;
    }
    this.loading = false;
    if (this.again) {
      this.again = false;
      this.load();
    }
  }

  destroy() {
    this.replay.destroy();
  }
}
