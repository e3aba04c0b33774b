// agent.js - one agent's page: facts, live charts of the last hour,
// history charts (24 h, 7 days) from the hub's downsampled store, and
// commands from buttons (shell with streamed output, docker containers,
// restart, stop, screenshot) with the agent's command history.
"use strict";

import * as api from "./api.js";
import { h, $, clear, ago, pct, bytes, rate, duration, clock } from "./dom.js";
import { Chart } from "./charts.js";

const HOUR = 3600;
const SPANS = { "24h": 86400, "7d": 7 * 86400 };

function section(title, ...body) {
  return h("section", { class: "panel" }, h("h3", {}, title), ...body);
}

function fact(dl, label, value) {
  dl.appendChild(h("dt", {}, label));
  dl.appendChild(h("dd", {}, value === "" || value === null || value === undefined ? "–" : value));
}

export class AgentPage {
  constructor(name, app) {
    this.name = name;
    this.app = app;
    this.live = [];
    this.charts = [];
    this.histRange = "24h";
    this.rows = new Map();     // command id -> row
    this.urls = [];            // object URLs to revoke
    this.root = clear($("agent-view"));
    this.build();
    const a = app.agents.get(name);
    if (a) this.onAgent(a);
    this.loadLive();
    this.loadHistory();
    this.loadCommands();
  }

  destroy() {
    for (const c of this.charts) c.destroy();
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.charts = [];
    clear(this.root);
  }

  canRun() {
    return this.app.role === "operator" || this.app.role === "admin";
  }

  build() {
    this.badge = h("span", { class: "badge" });
    this.seen = h("span", { class: "muted" });
    this.tags = h("span", { class: "tags" });
    this.head = h("div", { class: "agent-head" },
      h("a", { href: "#/", class: "back" }, "← Agents"),
      h("h2", { id: "agent-name" }, this.name), this.badge, this.seen, this.tags);
    this.facts = h("dl", { class: "facts" });
    this.now = h("div", { class: "nowbars" });
    const liveUse = h("div", { class: "chart" });
    const liveNet = h("div", { class: "chart" });
    const histUse = h("div", { class: "chart" });
    const histNet = h("div", { class: "chart" });
    this.histNote = h("p", { class: "muted" });
    const tabs = h("div", { class: "tabs", role: "tablist" },
      ["24h", "7d"].map((r) => h("button", { type: "button", dataset: { range: r },
        "aria-pressed": String(r === this.histRange),
        onclick: (e) => this.setRange(e.target.dataset.range) },
        r === "24h" ? "24 hours" : "7 days")));
    this.tabs = tabs;
    this.root.append(this.head,
      h("div", { class: "cols" },
        section("Facts", this.facts, this.now),
        section("Last hour (live)", liveUse, liveNet)),
      section("History", tabs, histUse, histNet, this.histNote),
      this.commandsPanel(),
      section("Command history", this.historyTable()));
    // charts need their containers in the document to know their width
    const span = SPANS[this.histRange];
    this.liveUse = new Chart(liveUse, "CPU, memory, disk", ["cpu", "mem", "disk"], HOUR);
    this.liveNet = new Chart(liveNet, "Network", ["rx", "tx"], HOUR);
    this.histUse = new Chart(histUse, "CPU, memory, disk", ["cpu", "mem", "disk"], span);
    this.histNet = new Chart(histNet, "Network", ["rx", "tx"], span);
    this.charts.push(this.liveUse, this.liveNet, this.histUse, this.histNet);
  }

  // ---- facts and live data ----

  onAgent(a) {
    this.agent = a;
    this.badge.textContent = a.status;
    this.badge.className = "badge st-" + a.status;
    this.root.dataset.status = a.status;
    this.seen.textContent = (a.connected ? "connected, " : "not connected, ") +
      "last seen " + ago(a.last_seen);
    clear(this.tags);
    for (const t of a.tags) this.tags.appendChild(h("span", { class: "tag" }, t));
    clear(this.facts);
    fact(this.facts, "Hostname", a.hostname);
    fact(this.facts, "OS", a.os);
    fact(this.facts, "Kernel", a.kernel);
    fact(this.facts, "Architecture", a.arch);
    fact(this.facts, "CPUs", a.cpus || "");
    fact(this.facts, "Memory", a.mem_total ? bytes(a.mem_total) : "");
    fact(this.facts, "Listener version", a.version);
    fact(this.facts, "Uptime", a.uptime === null ? "" : duration(a.uptime));
    fact(this.facts, "Status since", clock(a.since));
    clear(this.now).append(
      h("span", {}, "CPU " + pct(a.cpu)), h("span", {}, "Memory " + pct(a.mem)),
      h("span", {}, "Disk " + pct(a.disk)),
      h("span", {}, "Net ↓ " + rate(a.rx) + " ↑ " + rate(a.tx)));
    if (a.mem !== null && a.last_seen && (!this.live.length ||
        this.live[this.live.length - 1].ts < a.last_seen)) {
      this.live.push({ ts: a.last_seen, cpu: a.cpu, mem: a.mem, disk: a.disk,
        rx: a.rx, tx: a.tx });
      this.drawLive();
    }
  }

  drawLive() {
    const since = Date.now() / 1000 - HOUR;
    while (this.live.length && this.live[0].ts < since) this.live.shift();
    this.liveUse.set(this.live);
    this.liveNet.set(this.live);
  }

  async loadLive() {
    try {
      const doc = await api.get(api.agentPath(this.name, "/history?range=1h"));
      // minute averages before the first live point, live points after
      const first = this.live.length ? this.live[0].ts : Infinity;
      const older = doc.points.filter((p) => p.ts + 60 <= first);
      this.live = older.concat(this.live);
      this.drawLive();
    } catch (e) { /* live points still come */ }
  }

  setRange(r) {
    this.histRange = r;
    for (const b of this.tabs.children) b.setAttribute("aria-pressed", String(b.dataset.range === r));
    this.loadHistory();
  }

  async loadHistory() {
    const r = this.histRange;
    try {
      const doc = await api.get(api.agentPath(this.name, "/history?range=" + r));
      if (r !== this.histRange) return;
      this.histUse.setSpan(SPANS[r]);
      this.histNet.setSpan(SPANS[r]);
      this.histUse.set(doc.points);
      this.histNet.set(doc.points);
      this.histNote.textContent = doc.points.length ? (r === "24h" ?
        "Minute averages." : "Quarter-hour averages.") :
        "No history yet: the hub writes a point per minute.";
    } catch (e) {
      this.histNote.textContent = "History: " + e.message;
    }
  }

  // ---- commands ----

  commandsPanel() {
    if (!this.canRun()) {
      return section("Commands", h("p", { class: "muted" },
        "Your token is a viewer token: commands need an operator or admin token."));
    }
    this.shellCmd = h("input", { id: "shell-cmd", type: "text", placeholder: "uptime",
      autocomplete: "off", spellcheck: "false", "aria-label": "Shell command" });
    this.shellTimeout = h("input", { id: "shell-timeout", type: "number", min: "1",
      value: "60", "aria-label": "Timeout in seconds", title: "Timeout (seconds)" });
    this.shellOut = h("pre", { id: "shell-out", class: "output", "aria-live": "polite" });
    this.shellStatus = h("p", { id: "shell-status", class: "muted" });
    const form = h("form", { class: "shell", onsubmit: (e) => { e.preventDefault(); this.runShell(); } },
      h("span", { class: "prompt" }, "$"), this.shellCmd, this.shellTimeout,
      h("button", { id: "shell-run", type: "submit" }, "Run"));
    this.dockerBox = h("div", { id: "docker" });
    this.shot = h("div", { id: "shot" });
    this.actionStatus = h("p", { id: "action-status", class: "muted", "aria-live": "polite" });
    this.stopBox = h("span", { class: "confirm" });
    const actions = h("div", { class: "actions" },
      h("button", { id: "btn-docker", type: "button", onclick: () => this.dockerPs() }, "Docker containers"),
      h("button", { id: "btn-screenshot", type: "button", onclick: () => this.screenshot() }, "Screenshot"),
      h("button", { id: "btn-restart", type: "button", onclick: () => this.simple("restart") }, "Restart listener"),
      h("button", { id: "btn-stop", type: "button", class: "danger", onclick: () => this.askStop() }, "Stop listener"),
      this.stopBox);
    return section("Commands", form, this.shellStatus, this.shellOut, actions,
      this.actionStatus, this.dockerBox, this.shot);
  }

  async send(body) {
    return (await api.post(api.agentPath(this.name, "/command"), body)).id;
  }

  outcome(end) {
    if (!end) return "the stream ended early";
    let s = end.status;
    if (end.exit !== null && end.exit !== undefined) s += ", exit " + end.exit;
    if (end.truncated) s += ", output truncated";
    if (end.error) s += ": " + end.error;
    return s;
  }

  async runShell() {
    const cmd = this.shellCmd.value.trim();
    if (!cmd) return;
    const timeout = Number(this.shellTimeout.value) || 60;
    clear(this.shellOut);
    this.shellStatus.textContent = "sending…";
    this.shellStatus.dataset.state = "running";
    try {
      const id = await this.send({ type: "shell", cmd, timeout });
      this.shellStatus.textContent = "running (" + id + ")";
      const end = await api.stream(id, (l) => {
        if (l.t !== "out") return;
        const span = h("span", { class: l.stream === "stderr" ? "stderr" : "" }, l.data);
        this.shellOut.appendChild(span);
        this.shellOut.scrollTop = this.shellOut.scrollHeight;
      });
      this.shellStatus.textContent = this.outcome(end);
      this.shellStatus.dataset.state = end && end.status === "done" && end.exit === 0 ? "ok" : "bad";
    } catch (e) {
      this.shellStatus.textContent = "refused: " + e.message;
      this.shellStatus.dataset.state = "bad";
    }
  }

  // Run a command without output of interest; resolves with its end line
  // and the output it produced.
  async runQuiet(body) {
    const id = await this.send(body);
    let out = "";
    const end = await api.stream(id, (l) => { if (l.t === "out") out += l.data; });
    return { id, end, out };
  }

  say(text, state) {
    this.actionStatus.textContent = text;
    this.actionStatus.dataset.state = state || "";
  }

  async simple(kind) {
    this.say(kind + ": sending…", "running");
    try {
      const { id } = await api.post(api.agentPath(this.name, "/" + kind), {});
      this.say(kind + " sent (" + id + "); the status shows on the card", "ok");
    } catch (e) {
      this.say(kind + " refused: " + e.message, "bad");
    }
  }

  askStop() {
    clear(this.stopBox).append("Stop the listener on this machine? ",
      h("button", { id: "btn-stop-yes", type: "button", class: "danger",
        onclick: () => { clear(this.stopBox); this.simple("stop"); } }, "Yes, stop it"),
      h("button", { type: "button", onclick: () => clear(this.stopBox) }, "Cancel"));
  }

  async screenshot() {
    clear(this.shot);
    const status = h("p", { id: "shot-status", class: "muted" }, "taking a screenshot…");
    this.shot.appendChild(status);
    try {
      const { id } = await api.post(api.agentPath(this.name, "/screenshot"), {});
      const end = await api.stream(id, () => {});
      if (!end || end.status !== "done") {
        status.textContent = "Screenshot not available: " + this.outcome(end);
        status.dataset.state = "bad";
        return;
      }
      const url = await api.png(id);
      this.urls.push(url);
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      status.textContent = "Screenshot " + id + " ";
      status.dataset.state = "ok";
      status.appendChild(h("a", { href: url, download: "screenshot-" + stamp + ".png",
        id: "shot-download" }, "Download PNG"));
      this.shot.appendChild(h("img", { src: url, alt: "Screenshot of " + this.name,
        id: "shot-img" }));
    } catch (e) {
      status.textContent = "Screenshot not available: " + e.message;
      status.dataset.state = "bad";
    }
  }

  async dockerPs() {
    clear(this.dockerBox);
    const note = h("p", { class: "muted" }, "listing containers…");
    this.dockerBox.appendChild(note);
    let res;
    try {
      res = await this.runQuiet({ type: "docker_ps" });
    } catch (e) {
      note.textContent = "docker_ps refused: " + e.message;
      return;
    }
    if (!res.end || res.end.status !== "done" || res.end.exit !== 0) {
      note.textContent = "docker_ps: " + this.outcome(res.end) +
        (res.out ? " — " + res.out.slice(0, 500) : "");
      return;
    }
    let list;
    try { list = JSON.parse(res.out); } catch (e) { list = null; }
    if (!Array.isArray(list)) {
      note.textContent = "docker_ps: the output is not a list of containers";
      return;
    }
    note.textContent = list.length + " container" + (list.length === 1 ? "" : "s");
    const tbody = h("tbody");
    for (const c of list) {
      const state = h("td", {}, String(c.state || ""));
      const btn = h("button", { type: "button", onclick: async () => {
        btn.disabled = true;
        state.textContent = "restarting…";
        try {
          const r = await this.runQuiet({ type: "docker_restart", arg: String(c.id || c.name) });
          state.textContent = r.end && r.end.status === "done" && r.end.exit === 0 ?
            "restarted" : "restart " + this.outcome(r.end);
        } catch (e) {
          state.textContent = "refused: " + e.message;
        }
        btn.disabled = false;
      } }, "Restart");
      tbody.appendChild(h("tr", {}, h("td", {}, String(c.name || "")),
        h("td", {}, String(c.image || "")), state,
        h("td", {}, String(c.status || "")), h("td", {}, String(c.ports || "")),
        h("td", {}, btn)));
    }
    this.dockerBox.appendChild(h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "Image", "State", "Status", "Ports", ""].map((x) => h("th", {}, x)))),
      tbody)));
  }

  // ---- command history ----

  historyTable() {
    this.hist = h("tbody", { id: "history" });
    this.detail = h("pre", { class: "output", hidden: true });
    return h("div", {}, h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["When", "Type", "Command", "By", "Status", "Exit"].map((x) => h("th", {}, x)))),
      this.hist)), this.detail);
  }

  row(c) {
    let tr = this.rows.get(c.id);
    const cells = [clock(c.created), c.type, c.cmd || c.arg || "", c.requested_by || "",
      c.status, c.exit === null || c.exit === undefined ? "" : String(c.exit)];
    if (!tr) {
      tr = h("tr", { dataset: { id: c.id }, tabindex: "0", onclick: () => this.show(c.id) },
        cells.map(() => h("td")));
      this.rows.set(c.id, tr);
    }
    cells.forEach((v, i) => { tr.children[i].textContent = v; });
    tr.className = "cmd-" + c.status;
    return tr;
  }

  async loadCommands() {
    try {
      const doc = await api.get("/api/commands?limit=50&agent=" + encodeURIComponent(this.name));
      for (const c of doc.commands) {
        if (!this.rows.has(c.id)) this.hist.appendChild(this.row(c));
      }
    } catch (e) { /* the table stays empty */ }
  }

  onCommand(c) {
    if (c.agent !== this.name) return;
    const known = this.rows.has(c.id);
    const tr = this.row(c);
    if (!known) this.hist.prepend(tr);
  }

  async show(id) {
    try {
      const c = await api.get("/api/commands/" + encodeURIComponent(id));
      this.detail.hidden = false;
      this.detail.textContent = c.id + " " + c.type + " — " + this.outcome(c) +
        "\n" + (c.output || "");
    } catch (e) {
      this.detail.hidden = false;
      this.detail.textContent = id + ": " + e.message;
    }
  }
}
