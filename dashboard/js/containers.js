// containers.js - containers as the agents' heartbeats report them: the
// fleet's Containers view (#/containers, GET /api/containers with the
// filters) and an agent page's Containers panel (GET
// /api/agents/NAME/containers), with a Restart button per container for
// operators (a docker_restart command).  Live: each agent in the feed
// carries containers.rev, which changes with its table; a table reloads
// when a rev it shows changes, one request at a time.
"use strict";

import * as api from "./api.js";
import { h, clear, ago, bytes } from "./dom.js";

const COLS = ["Name", "Image", "State", "Health", "Restarts", "CPU", "Memory", "Up since", ""];

function upSince(c) {
  return c.state === "running" && c.started ? ago(c.started) : "–";
}

// One row; restart(c) (may be null) makes the Restart button.
function row(c, withAgent, restart) {
  const state = h("td", { class: "state" }, c.state + (c.exit !== undefined && c.state !== "running" ?
    " (" + c.exit + (c.oom ? ", OOM" : "") + ")" : ""));
  const name = h("td", { class: "name" }, c.name);
  if (c.behind) name.appendChild(h("span", { class: "behind", title: "The registry has a newer image (" +
    (c.latest || "") + ")" }, "behind"));
  const cells = [name, h("td", { class: "image" }, c.image),
    state, h("td", { class: "health" }, c.health || "–", c.health === "unhealthy" && c.health_log ?
      h("span", { class: "muted" }, " " + c.health_log) : ""),
    h("td", { class: "restarts" }, String(c.restarts)),
    h("td", { class: "cpu" }, c.cpu === undefined ? "–" : c.cpu.toFixed(1) + "%"),
    h("td", { class: "mem" }, bytes(c.mem)), h("td", { class: "up" }, upSince(c))];
  if (withAgent) {
    cells.unshift(h("td", { class: "agent" }, h("a", { href: "#/agent/" + encodeURIComponent(c.agent) },
      c.agent)));
  }
  cells.push(h("td", { class: "act" }, restart ? restartButton(c, state, restart) : ""));
  return h("tr", { dataset: { id: c.id, state: c.state, down: String(!!c.down) },
    class: c.down || c.health === "unhealthy" ? "ctr-bad" : "" }, cells);
}

function restartButton(c, state, restart) {
  const btn = h("button", { type: "button", onclick: async () => {
    btn.disabled = true;
    state.textContent = "restarting…";
    state.textContent = await restart(c);
    btn.disabled = false;
  } }, "Restart");
  return btn;
}

function table(id, withAgent) {
  const body = h("tbody", { id });
  const head = (withAgent ? ["Agent"] : []).concat(COLS);
  return { body, el: h("div", { class: "scroll" }, h("table", { class: "stack containers" },
    h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))), body)) };
}

// Load one request at a time; one more after it when asked meanwhile.
class Loader {
  constructor(fetch) {
    this.fetch = fetch;
    this.busy = false;
    this.again = false;
  }

  async run() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.fetch();
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }
}

// An agent page's panel; restart(c) returns the words for the state cell.
export class AgentContainers {
  constructor(name, restart) {
    this.name = name;
    this.restart = restart;
    this.rev = null;
    this.t = table("agent-containers", false);
    this.note = h("p", { id: "agent-containers-note", class: "muted" });
    this.el = h("section", { class: "panel", id: "containers-panel", hidden: true },
      h("h3", {}, "Containers"), this.note, this.t.el);
    this.loader = new Loader(() => this.load());
  }

  onAgent(a) {
    const c = a.containers;
    this.el.hidden = !c;
    if (!c || c.rev === this.rev) return;
    this.rev = c.rev;
    this.loader.run();
  }

  async load() {
    let d;
    try {
      d = await api.get(api.agentPath(this.name, "/containers"));
    } catch (e) {
      this.note.textContent = "Containers: " + e.message;
      return;
    }
    this.note.textContent = d.containers.length + " container" + (d.containers.length === 1 ? "" : "s") +
      (d.stale ? " — as last reported: the agent is away or lost Docker" : "");
    clear(this.t.body).append(...d.containers.map((c) => row(c, false, this.restart)));
  }
}

// The fleet's view.
export class ContainersView {
  constructor(root) {
    this.root = root;
    this.revs = new Map();
    this.agent = h("select", { id: "c-agent", "aria-label": "Filter by agent" });
    this.tag = h("select", { id: "c-tag", "aria-label": "Filter by tag" });
    this.image = h("input", { id: "c-image", type: "search", placeholder: "Image (repository)",
      "aria-label": "Filter by image" });
    this.state = h("select", { id: "c-state", "aria-label": "Filter by state" },
      [["", "All states"], ["running", "running"], ["exited", "exited"], ["restarting", "restarting"],
        ["paused", "paused"], ["created", "created"], ["dead", "dead"], ["unhealthy", "unhealthy"],
        ["down", "down"], ["behind", "behind"]].map(([v, l]) => h("option", { value: v }, l)));
    for (const e of [this.agent, this.tag, this.state]) e.addEventListener("change", () => this.reload());
    this.image.addEventListener("input", () => this.reload());
    this.note = h("p", { id: "c-note", class: "muted" });
    this.t = table("containers", true);
    root.append(h("div", { class: "filters" }, this.agent, this.tag, this.image, this.state),
      this.note, this.t.el);
    this.loader = new Loader(() => this.load());
    this.shown = false;
  }

  // The agents' names and tags for the filters (keeping the choice).
  options(agents) {
    const names = [...agents.values()].filter((a) => a.containers).map((a) => a.name).sort();
    const tags = [...new Set([...agents.values()].flatMap((a) => a.tags))].sort();
    const fill = (sel, all, list) => {
      const v = sel.value;
      clear(sel).append(h("option", { value: "" }, all), ...list.map((x) => h("option", { value: x }, x)));
      sel.value = list.includes(v) ? v : "";
    };
    fill(this.agent, "All agents", names);
    fill(this.tag, "All tags", tags);
  }

  show(agents) {
    this.shown = true;
    this.options(agents);
    this.reload();
  }

  hide() {
    this.shown = false;
  }

  // An agent changed: reload when its table did and the view is shown.
  onAgent(a) {
    const rev = a.containers ? a.containers.rev + (a.containers.stale ? "s" : "") : null;
    if (this.revs.get(a.name) === rev) return;
    this.revs.set(a.name, rev);
    if (this.shown) this.reload();
  }

  reload() {
    this.loader.run();
  }

  query() {
    const q = new URLSearchParams();
    for (const [k, e] of [["agent", this.agent], ["tag", this.tag], ["image", this.image],
      ["state", this.state]]) {
      if (e.value.trim()) q.set(k, e.value.trim());
    }
    const s = q.toString();
    return "/api/containers" + (s ? "?" + s : "");
  }

  async load() {
    let d;
    try {
      d = await api.get(this.query());
    } catch (e) {
      this.note.textContent = "Containers: " + e.message;
      return;
    }
    this.note.textContent = d.total + " container" + (d.total === 1 ? "" : "s") +
      (d.more ? " (the first " + d.containers.length + " shown; narrow the filters)" : "");
    clear(this.t.body).append(...d.containers.map((c) => row(c, true, null)));
  }
}
