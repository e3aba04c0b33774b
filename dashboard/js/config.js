// config.js - the Config view (#/config): the git repository of fleet
// configuration the hub follows (docs/config.md).  It shows the commit in
// force and the last fetch (GET /api/config), a commit that was refused
// with its file:line, the branch's log (GET /api/config/log) and what the
// branch's tip would change (GET /api/config/diff, which fetches first).
// Operators and admins get "Sync now" and, per commit, "Roll back to
// this" after a confirmation; both wait for the hub's answer, which is
// the new status.  Everything from the repository (authors, subjects,
// errors, the patch) is text, never HTML.
"use strict";

import * as api from "./api.js";
import { h, clear, clock, ago } from "./dom.js";

function fact(dl, label, value, id) {
  dl.appendChild(h("dt", {}, label));
  dl.appendChild(h("dd", { id }, value === "" || value === null || value === undefined ? "–" : value));
}

function count(n, what) {
  return n + " " + what + (n === 1 ? "" : "s");
}

function short(id) {
  return (id || "").slice(0, 12);
}

// The patch, one span per line so that added and removed lines get
// their colour from app.css.
function patchLines(text) {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  return lines.map((l) => {
    let cls = "";
    if (l.startsWith("diff --git ") || l.startsWith("--- ") || l.startsWith("+++ ")) cls = "d-file";
    else if (l.startsWith("@@")) cls = "d-hunk";
    else if (l.startsWith("+")) cls = "d-add";
    else if (l.startsWith("-")) cls = "d-del";
    return h("span", { class: cls || undefined }, l + "\n");
  });
}

export class ConfigView {
  constructor(el, app) {
    this.el = el;
    this.app = app;
    this.visible = false;
    this.busy = false;
    this.loads = 0;         // a newer load makes an older one's answer stale
  }

  show() {
    this.visible = true;
    this.load();
  }

  hide() {
    this.visible = false;
  }

  canOperate() {
    return this.app.role === "operator" || this.app.role === "admin";
  }

  async load(note, state) {
    const n = ++this.loads;
    let st, log;
    try {
      [st, log] = await Promise.all([api.get("/api/config"), api.get("/api/config/log")]);
    } catch (e) {
      if (n === this.loads) this.el.replaceChildren(h("p", { class: "muted" }, "Config: " + e.message));
      return;
    }
    if (n !== this.loads) return;
    if (!st.enabled) {
      this.el.replaceChildren(this.offPage());
      return;
    }
    this.render(st, log, note, state);
    this.loadDiff(n, st.rollback);
  }

  offPage() {
    return h("section", { id: "cfg-off", class: "panel" }, h("h3", {}, "No config repository"),
      h("p", {}, "This hub follows no git repository of fleet configuration.  To have it apply rules, " +
        "silences and agents' tags from git, set ", h("code", {}, "config_repo"), " in ",
        h("code", {}, "hub.conf"), " (a local path or a file:// URL; ", h("code", {}, "config_branch"),
        " and ", h("code", {}, "config_poll"), " are optional) and restart the hub:"),
      h("pre", { class: "output" }, "config_repo = /srv/fleet-config.git\nconfig_branch = main\n" +
        "config_poll = 60s\n"),
      h("p", { class: "muted" }, "The repository's layout and what is refused are in ",
        h("code", {}, "docs/config.md"), " of Maestro's sources (an example repository is in ",
        h("code", {}, "docs/config-repo-example/"), ")."));
  }

  render(st, log, note, state) {
    const facts = h("dl", { class: "facts" });
    fact(facts, "Repository", st.repo, "cfg-repo");
    fact(facts, "Branch", st.branch);
    const ap = st.applied;
    const applied = h("dd", { id: "cfg-applied", dataset: { commit: ap ? ap.id : "" } },
      ap ? [h("code", {}, short(ap.id)), " " + ap.subject,
        st.rollback ? " (rolled back to: the next new commit upstream takes over)" : ""] :
        "none yet");
    facts.append(h("dt", {}, "In force"), applied);
    if (ap) fact(facts, "By", ap.author + ", " + clock(ap.time));
    fact(facts, "Contents", count(st.rules, "rule") + ", " + count(st.silences, "silence") + ", " +
      count(st.agents, "agent"));
    fact(facts, "Last fetch", st.last_fetch ? ago(st.last_fetch) + " (" + clock(st.last_fetch) + ")" : "never");
    if (!st.fetch_ok) fact(facts, "Fetch error", st.fetch_error, "cfg-fetch-error");
    const parts = [h("h2", {}, "Configuration repository"), h("section", { class: "panel" }, facts)];
    if (st.refused_commit) {
      parts.push(h("section", { id: "cfg-refused", class: "panel refused" }, h("h3", {}, "Refused commit"),
        h("p", {}, h("code", {}, short(st.refused_commit)), " was not applied: ",
          h("code", { class: "why" }, st.refused_error)),
        h("p", { class: "muted" }, "The commit in force stays until a good commit is pushed.")));
    }
    this.status = h("span", { id: "cfg-status", dataset: { state: state || "" } }, note || "");
    this.confirmBox = h("span", { class: "confirm" });
    const sync = h("button", { id: "cfg-sync", type: "button", disabled: !this.canOperate() || this.busy,
      onclick: () => this.act("Sync", "/api/config/sync") }, "Sync now");
    parts.push(h("div", { class: "actions" }, sync, this.confirmBox, this.status));
    if (!this.canOperate()) {
      parts.push(h("p", { class: "muted hint" }, "Your token is a viewer token: syncing and rolling back " +
        "need an operator or admin token."));
    }
    this.diffNote = h("p", { id: "cfg-diff-note", class: "muted" }, "Comparing with the branch's tip…");
    this.diffPre = h("pre", { id: "cfg-diff", class: "output diff" });
    parts.push(h("section", { class: "panel" }, h("h3", {}, "What the branch's tip would change"),
      this.diffNote, this.diffPre));
    parts.push(h("section", { class: "panel" }, h("h3", {}, "Log"), this.logTable(log, ap ? ap.id : "")));
    this.el.replaceChildren(h("div", { class: "config" }, parts));
  }

  logTable(log, appliedId) {
    if (!log.commits.length) return h("p", { class: "muted" }, "No commits fetched yet.");
    const rows = log.commits.map((c) => {
      const here = c.id === appliedId;
      const btn = here ? h("span", { class: "muted" }, "in force") :
        h("button", { type: "button", class: "cfg-rollback", disabled: !this.canOperate() || this.busy,
          onclick: () => this.askRollback(c) }, "Roll back to this");
      return h("tr", { dataset: { commit: c.id }, class: here ? "applied" : undefined },
        h("td", {}, h("code", {}, short(c.id))), h("td", {}, clock(c.time)), h("td", {}, c.author),
        h("td", { class: "prose" }, c.subject), h("td", {}, btn));
    });
    return h("div", { class: "scroll" }, h("table", { id: "cfg-log", class: "stack" },
      h("thead", {}, h("tr", {}, ["Commit", "Date", "Author", "Subject", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows)));
  }

  askRollback(c) {
    clear(this.confirmBox).append("Roll back to " + short(c.id) + " (" + c.subject + ")? ",
      h("button", { id: "cfg-rollback-yes", type: "button", class: "danger",
        onclick: () => { clear(this.confirmBox); this.act("Rollback", "/api/config/rollback", { commit: c.id }); } },
      "Roll back"),
      h("button", { id: "cfg-rollback-no", type: "button", onclick: () => clear(this.confirmBox) }, "Cancel"));
  }

  // Sync or roll back; the hub answers when the fetch (and the apply or
  // the refusal) is done, with the status.
  async act(what, path, body) {
    if (this.busy) return;
    this.busy = true;
    for (const b of this.el.querySelectorAll("#cfg-sync, .cfg-rollback")) b.disabled = true;
    this.status.textContent = what + ": waiting for the hub…";
    this.status.dataset.state = "running";
    let note, state;
    try {
      const st = await api.post(path, body);
      const id = st.applied ? short(st.applied.id) : "nothing";
      if (!st.fetch_ok) [note, state] = [what + ": the fetch failed: " + st.fetch_error, "bad"];
      else if (st.refused_commit) [note, state] = [what + ": " + short(st.refused_commit) + " refused: " +
        st.refused_error + "; " + id + " stays in force", "bad"];
      else [note, state] = [what + ": " + id + " in force", "ok"];
    } catch (e) {
      [note, state] = [what + ": " + e.message, "bad"];
    }
    this.busy = false;
    if (this.visible) this.load(note, state);
  }

  async loadDiff(n, rollback) {
    let d;
    try {
      d = await api.get("/api/config/diff");
    } catch (e) {
      if (n === this.loads) this.diffNote.textContent = "The diff could not be made: " + e.message;
      return;
    }
    if (n !== this.loads) return;
    const notes = [];
    if (d.fetch_error) notes.push("The fetch failed (" + d.fetch_error + "); this is the tip fetched last. ");
    if (!d.files.length) {
      notes.push("Nothing differs: the branch's tip " + short(d.to) + " is in force.");
    } else {
      notes.push(short(d.to) + " " + d.target.subject + " (" + d.target.author + ") changes " +
        d.files.map((f) => f.path + " (" + f.status + ")").join(", ") + ".");
      if (rollback) notes.push("  A sync keeps the rollback; the next new commit upstream replaces it.");
    }
    clear(this.diffNote).append(...notes);
    if (d.refused) {
      this.diffNote.append(" ", h("span", { id: "cfg-diff-refused", dataset: { state: "bad" } },
        "A sync would refuse it: " + d.error));
    }
    this.diffPre.replaceChildren(...patchLines(d.patch));
    if (d.truncated) {
      this.diffPre.append(h("span", { class: "d-cut" }, "[the diff is cut here: it passed " +
        Math.round(d.max_bytes / 1024) + " KiB]\n"));
    }
  }
}
