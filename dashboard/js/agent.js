// agent.js - one agent's page: facts, live charts of the last hour,
// history charts (24 h, 7 days) from the hub's downsampled store, the
// Commands panel (commands.js) and the agent's command history
// (history.js) on its Overview tab; a shell on the agent (terminal.js) and
// its recorded sessions (sessions.js) on its Terminal tab.  An agent the
// hub does not know gets a plain "no such agent" page (MissingPage),
// without a button that could not work.
"use strict";

import * as api from "./api.js";
import { h, $, clear, ago, pct, bytes, rate, duration, clock, panel } from "./dom.js";
import { Chart } from "./charts.js";
import { Commands } from "./commands.js";
import { History } from "./history.js";
import { TerminalTab } from "./terminal.js";
import { Sessions } from "./sessions.js";
import { AgentContainers } from "./containers.js";
import { KeyPanel } from "./keypanel.js";

const HOUR = 3600;
const SPANS = { "24h": 86400, "7d": 7 * 86400 };
// the hardware figures (absent for an agent without a GPU or sensor)
const HW = ["gpu_util", "gpu_mem", "gpu_temp", "cpu_temp"];
const hasHw = (p) => HW.some((k) => p[k] !== undefined && p[k] !== null);

// How the agent is doing, in words that match its status: a critical agent
// whose TCP connection is still open is not "connected" in any useful sense.
export function presence(a, now) {
  const seen = "last seen " + ago(a.last_seen, now);
  switch (a.status) {
    case "online": return (a.connected ? "connected, " : "") + seen;
    case "late": return "heartbeats late, " + seen;
    case "critical": return "no heartbeat, " + seen;
    case "restarting": return "restarting, " + seen;
    case "offline": return "said goodbye, " + seen;
    default: return seen;
  }
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
    this.commands = new Commands(name, app);
    this.keys = new KeyPanel();
    this.ctrs = new AgentContainers(name, this.commands.canRun() ? (c) => this.commands.restartCtr(c) : null);
    this.history = new History(name);
    this.sessions = new Sessions(name, app);
    this.terminal = new TerminalTab(name, app, () => this.sessions.load());
    this.tab = "overview";
    this.root = clear($("agent-view"));
    this.build();
    const a = app.agents.get(name);
    if (a) this.onAgent(a);
    // "last seen 3s ago" goes on counting while no heartbeat comes
    this.timer = setInterval(() => {
      if (this.agent) this.seen.textContent = presence(this.agent);
    }, 1000);
    this.loadLive();
    this.loadHistory();
    this.history.load();
  }

  destroy() {
    clearInterval(this.timer);
    for (const c of this.charts) c.destroy();
    this.commands.destroy();
    this.keys.destroy();
    this.terminal.destroy();
    this.sessions.destroy();
    this.charts = [];
    clear(this.root);
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
    // the GPU and temperature charts go here once the agent reports any
    this.liveHwBox = h("div", { id: "live-hw" });
    this.histHwBox = h("div", { id: "hist-hw" });
    this.histNote = h("p", { class: "muted" });
    const tabs = h("div", { class: "tabs", role: "tablist" },
      ["24h", "7d"].map((r) => h("button", { type: "button", dataset: { range: r },
        "aria-pressed": String(r === this.histRange),
        onclick: (e) => this.setRange(e.target.dataset.range) },
        r === "24h" ? "24 hours" : "7 days")));
    this.tabs = tabs;
    this.pageTabs = h("div", { class: "tabs page-tabs", role: "tablist" },
      [["overview", "Overview"], ["terminal", "Terminal"]].map(([t, label]) =>
        h("button", { id: "tab-" + t, type: "button", dataset: { tab: t },
          "aria-pressed": String(t === this.tab), onclick: () => this.setTab(t) }, label)));
    this.overview = h("div", { id: "agent-overview" },
      h("div", { class: "cols" },
        panel("Facts", this.facts, this.now),
        panel("Last hour (live)", liveUse, liveNet, this.liveHwBox)),
      panel("History", tabs, histUse, histNet, this.histHwBox, this.histNote),
      this.ctrs.el,
      this.commands.canRun() ? this.keys.panel() : null,
      this.commands.panel(),
      panel("Command history", this.history.el));
    this.termTab = h("div", { id: "agent-terminal", hidden: true },
      this.terminal.panel(), panel("Terminal sessions", this.sessions.el));
    this.root.append(this.head, this.pageTabs, this.overview, this.termTab);
    // charts need their containers in the document to know their width
    const span = SPANS[this.histRange];
    this.liveUse = new Chart(liveUse, "CPU, memory, disk", ["cpu", "mem", "disk"], HOUR);
    this.liveNet = new Chart(liveNet, "Network", ["rx", "tx"], HOUR);
    this.histUse = new Chart(histUse, "CPU, memory, disk", ["cpu", "mem", "disk"], span);
    this.histNet = new Chart(histNet, "Network", ["rx", "tx"], span);
    this.charts.push(this.liveUse, this.liveNet, this.histUse, this.histNet);
    this.hw = null;
  }

  // The GPU and temperature charts, made the first time a figure of them
  // comes: an agent without a GPU or sensor has the page it always had.
  hwCharts() {
    if (this.hw) return this.hw;
    const box = () => h("div", { class: "chart" });
    const [lu, lt, hu, ht] = [box(), box(), box(), box()];
    this.liveHwBox.append(lu, lt);
    this.histHwBox.append(hu, ht);
    const span = SPANS[this.histRange];
    this.hw = {
      liveUse: new Chart(lu, "GPU", ["gpu_util", "gpu_mem"], HOUR),
      liveTemp: new Chart(lt, "Temperature", ["gpu_temp", "cpu_temp"], HOUR),
      histUse: new Chart(hu, "GPU", ["gpu_util", "gpu_mem"], span),
      histTemp: new Chart(ht, "Temperature", ["gpu_temp", "cpu_temp"], span),
    };
    this.charts.push(...Object.values(this.hw));
    return this.hw;
  }

  // Overview (facts, charts, commands) or Terminal (a shell, sessions).
  setTab(t) {
    this.tab = t;
    for (const b of this.pageTabs.children) b.setAttribute("aria-pressed", String(b.dataset.tab === t));
    this.overview.hidden = t !== "overview";
    this.termTab.hidden = t !== "terminal";
    if (t === "terminal") {
      this.terminal.show();
      this.sessions.load();
    } else {
      this.terminal.hide();
    }
  }

  // ---- facts and live data ----

  onAgent(a) {
    this.agent = a;
    this.badge.textContent = a.status;
    this.badge.className = "badge st-" + a.status;
    this.root.dataset.status = a.status;
    this.seen.textContent = presence(a);
    this.commands.onAgent(a);
    this.ctrs.onAgent(a);
    this.terminal.onAgent(a);
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
    if (a.gpu_count) {
      this.now.append(h("span", { class: "hw-gpu" }, "GPU " + pct(a.gpu_util) +
        " (" + a.gpu_count + (a.gpu_count > 1 ? " GPUs" : " GPU") + "), memory " + pct(a.gpu_mem)));
    }
    for (const [k, label] of [["gpu_temp", "GPU"], ["cpu_temp", "CPU"]]) {
      if (a[k] !== undefined) this.now.append(h("span", {}, label + " " + Math.round(a[k]) + "°C"));
    }
    if (a.mem !== null && a.last_seen && (!this.live.length ||
        this.live[this.live.length - 1].ts < a.last_seen)) {
      const p = { ts: a.last_seen, cpu: a.cpu, mem: a.mem, disk: a.disk, rx: a.rx, tx: a.tx };
      for (const k of HW) if (a[k] !== undefined) p[k] = a[k];
      this.live.push(p);
      this.drawLive();
    }
  }

  drawLive() {
    const since = Date.now() / 1000 - HOUR;
    while (this.live.length && this.live[0].ts < since) this.live.shift();
    this.liveUse.set(this.live);
    this.liveNet.set(this.live);
    if (this.hw || this.live.some(hasHw)) {
      this.hwCharts().liveUse.set(this.live);
      this.hw.liveTemp.set(this.live);
    }
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
      if (this.hw || doc.points.some(hasHw)) {
        const hw = this.hwCharts();
        hw.histUse.setSpan(SPANS[r]);
        hw.histTemp.setSpan(SPANS[r]);
        hw.histUse.set(doc.points);
        hw.histTemp.set(doc.points);
      }
      this.histNote.textContent = doc.points.length ? (r === "24h" ?
        "Minute averages." : "Quarter-hour averages.") :
        "No history yet: the hub writes a point per minute.";
    } catch (e) {
      this.histNote.textContent = "History: " + e.message;
    }
  }

  onCommand(c) {
    this.history.onCommand(c);
  }

  // A terminal session with this agent opened or closed (anyone's).
  onEvent(e) {
    if (e.type === "terminal" && e.agent === this.name) this.sessions.load();
  }
}

// The page for a name the hub does not know (a stale link, a typo).
export class MissingPage {
  constructor(name) {
    this.name = name;
    this.missing = true;
    this.root = clear($("agent-view"));
    delete this.root.dataset.status;
    this.root.append(h("div", { class: "agent-head" },
      h("a", { href: "#/", class: "back" }, "← Agents"),
      h("h2", { id: "agent-name" }, name)),
    h("p", { class: "missing", id: "no-agent" }, "No such agent: the hub knows no agent named \u201c" +
      name + "\u201d. It shows here as soon as a listener of that name enrolls."));
  }

  destroy() {
    clear(this.root);
  }

  onAgent() {}

  onCommand() {}

  onEvent() {}
}
