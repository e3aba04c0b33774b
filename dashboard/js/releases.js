// releases.js - the Releases view (#/releases): the published listener
// releases (GET /api/releases) and the newest roll's progress, one row
// per agent (GET /api/rolls).  Publishing and rolling stay in hubctl
// (they need the operator's key and an admin token); this only shows.
// While a roll is going the view looks again every POLL_MS.
"use strict";

import * as api from "./api.js";
import { h, clock, bytes } from "./dom.js";

const POLL_MS = 2000;

function table(head, rows) {
  return h("table", { class: "stack" }, h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}

function releaseRow(r) {
  return h("tr", { dataset: { version: r.version } },
    [r.version, bytes(r.size), r.sha256.slice(0, 12), r.signed ? (r.signer || "signed") : "unsigned",
      clock(r.published), r.published_by || ""].map((c) => h("td", {}, c)));
}

function agentRow(a) {
  return h("tr", { dataset: { agent: a.agent }, class: "roll-" + a.state },
    [a.agent, a.state, a.before || "", a.after || "", a.error || ""].map((c) => h("td", {}, c)));
}

export class ReleasesView {
  constructor(el) {
    this.el = el;
    this.timer = null;
    this.visible = false;
  }

  show() {
    this.visible = true;
    this.load();
  }

  hide() {
    this.visible = false;
    clearTimeout(this.timer);
    this.timer = null;
  }

  async load() {
    clearTimeout(this.timer);
    let rels, rolls;
    try {
      [rels, rolls] = await Promise.all([api.get("/api/releases"), api.get("/api/rolls")]);
    } catch (e) {
      this.el.replaceChildren(h("p", { class: "muted" }, "Releases: " + e.message));
      return;
    }
    const roll = rolls.rolls[0];
    const parts = [h("h2", {}, "Listener releases"), rels.releases.length ?
      table(["Version", "Size", "SHA-256", "Signed by", "Published", "By"], rels.releases.map(releaseRow)) :
      h("p", { class: "muted" }, "None published yet (hubctl release publish FILE).")];
    if (roll) {
      const c = roll.counts || {};
      parts.push(h("h2", {}, "Roll " + roll.id + " to " + roll.version + ": " + roll.state),
        h("p", { id: "roll-summary", class: "muted" }, (c.updated || 0) + " updated, " + (c.skipped || 0) +
          " skipped, " + roll.agents.length + " agents" + (roll.stopped ? " — stopped: " + roll.stopped : "")),
        table(["Agent", "State", "Before", "After", "Error"], roll.agents.map(agentRow)));
    }
    this.el.replaceChildren(h("div", { class: "scroll" }, parts));
    if (this.visible && roll && (roll.state === "running" || roll.state === "pausing")) {
      this.timer = setTimeout(() => this.load(), POLL_MS);
    }
  }
}
