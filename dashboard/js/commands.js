// commands.js - the Commands panel of an agent's page: a shell box with
// streamed output (and, for an agent that is not online, a choice to let
// the hub hold the command until it is back: the API's "queue"), Docker
// containers with a restart per row, a screenshot, and restart / stop of
// the listener, each of those two only after a confirmation.  Every
// command is signed with the loaded operator key when the agent trusts it
// (signer.js); an agent that requires signatures the loaded key cannot
// give gets its buttons disabled, with the reason and the hubctl line.
"use strict";

import * as api from "./api.js";
import { h, clear, panel } from "./dom.js";
import { outcome } from "./history.js";
import * as signer from "./signer.js";

// the API's "queue": how long the hub may hold a command for an agent
// that is not online ("" = refuse it at once)
const QUEUE = [["", "If offline: fail"], ["5m", "If offline: wait 5 min"],
  ["1h", "If offline: wait 1 hour"], ["1d", "If offline: wait 1 day"]];

const ASK = {
  restart: ["Restart the listener on this machine?", "Yes, restart it"],
  stop: ["Stop the listener on this machine?", "Yes, stop it"],
};

export class Commands {
  constructor(name, app) {
    this.name = name;
    this.app = app;
    this.agent = null;
    this.urls = [];            // object URLs to revoke
    this.unwatch = signer.watch(() => { if (this.agent) this.onAgent(this.agent); });
  }

  destroy() {
    this.unwatch();
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
  }

  canRun() {
    return this.app.role === "operator" || this.app.role === "admin";
  }

  panel() {
    if (!this.canRun()) {
      return panel("Commands", h("p", { class: "muted" },
        "Your token is a viewer token: commands need an operator or admin token."));
    }
    this.shellCmd = h("input", { id: "shell-cmd", type: "text", placeholder: "uptime",
      autocomplete: "off", spellcheck: "false", "aria-label": "Shell command" });
    this.shellTimeout = h("input", { id: "shell-timeout", type: "number", min: "1",
      value: "60", "aria-label": "Timeout in seconds", title: "Timeout (seconds)" });
    this.queue = h("select", { id: "shell-queue", "aria-label": "If the agent is not online",
      title: "If the agent is not online: fail at once, or let the hub hold the command " +
        "and run it once when the agent is back" },
    QUEUE.map(([v, label]) => h("option", { value: v }, label)));
    this.hint = h("p", { id: "shell-hint", class: "muted hint", hidden: true });
    this.signBlock = h("p", { id: "sign-block", class: "hint", hidden: true });
    this.runBtn = h("button", { id: "shell-run", type: "submit" }, "Run");
    this.shellOut = h("pre", { id: "shell-out", class: "output", "aria-live": "polite" });
    this.shellStatus = h("p", { id: "shell-status", class: "muted" });
    const form = h("form", { class: "shell", onsubmit: (e) => { e.preventDefault(); this.runShell(); } },
      h("span", { class: "prompt" }, "$"), this.shellCmd, this.shellTimeout, this.queue,
      this.runBtn);
    this.dockerBox = h("div", { id: "docker" });
    this.shot = h("div", { id: "shot" });
    this.actionStatus = h("p", { id: "action-status", class: "muted", "aria-live": "polite" });
    this.confirmBox = h("span", { class: "confirm" });
    this.dockerBtn = h("button", { id: "btn-docker", type: "button", onclick: () => this.dockerPs() },
      "Docker containers");
    this.buttons = [this.runBtn, this.dockerBtn,
      h("button", { id: "btn-screenshot", type: "button", onclick: () => this.screenshot() }, "Screenshot"),
      h("button", { id: "btn-restart", type: "button", onclick: () => this.ask("restart") }, "Restart listener"),
      h("button", { id: "btn-stop", type: "button", class: "danger", onclick: () => this.ask("stop") }, "Stop listener")];
    const actions = h("div", { class: "actions" }, this.buttons.slice(1), this.confirmBox);
    return panel("Commands", this.signBlock, form, this.hint, this.shellStatus, this.shellOut, actions,
      this.actionStatus, this.dockerBox, this.shot);
  }

  // The agent changed: say what a command does while it is not online.
  onAgent(a) {
    this.agent = a;
    if (!this.hint) return;
    // the heartbeats fill the Containers panel: no docker_ps needed
    this.dockerBtn.hidden = !!a.containers;
    this.hint.hidden = a.status === "online";
    this.hint.textContent = a.status === "online" ? "" : a.name + " is " + a.status +
      ": a command fails at once unless the hub may hold it (If offline: wait …); " +
      "a held command runs once, when the agent is back.";
    const why = signer.blockedReason(a, "send " + a.name + " shell -- CMD");
    this.signBlock.textContent = why;
    this.signBlock.hidden = !why;
    for (const b of this.buttons) b.disabled = !!why;
    if (why) clear(this.confirmBox);
  }

  // body as the hub takes it: signed for this agent when the loaded key
  // is one it trusts (a signed command waits on the hub at most as long
  // as its signature lives).
  async signed(body) {
    const env = await signer.envelope(this.agent, body.type, body);
    if (!env) return body;
    const out = { signed: env };
    if (body.queue) out.queue = signer.QUEUE_MAX;
    return out;
  }

  // The body of a command by path (restart, stop, screenshot).
  async pathBody(kind) {
    const env = await signer.envelope(this.agent, kind, {});
    return env ? { signed: env } : {};
  }

  async send(body) {
    return (await api.post(api.agentPath(this.name, "/command"), await this.signed(body))).id;
  }

  // The status line while a command waits on the hub.
  waiting(id) {
    if (this.agent && this.agent.status === "online") return "queued (" + id + "): waits its turn";
    const q = QUEUE.find(([v]) => v === this.queue.value);
    return "queued (" + id + "): runs once " + this.name + " is back (" +
      (q ? q[1].replace("If offline: ", "") : "") + " at most)";
  }

  async runShell() {
    const cmd = this.shellCmd.value.trim();
    if (!cmd) return;
    const body = { type: "shell", cmd, timeout: Number(this.shellTimeout.value) || 60 };
    if (this.queue.value) body.queue = this.queue.value;
    clear(this.shellOut);
    this.shellStatus.textContent = "sending…";
    this.shellStatus.dataset.state = "running";
    try {
      const id = await this.send(body);
      this.shellStatus.textContent = "running (" + id + ")";
      const end = await api.stream(id, (l) => {
        if (l.t === "wait") {
          this.shellStatus.textContent = l.status === "queued" ? this.waiting(id) :
            "running (" + id + ")";
          return;
        }
        if (l.t !== "out") return;
        const span = h("span", { class: l.stream === "stderr" ? "stderr" : "" }, l.data);
        this.shellOut.appendChild(span);
        this.shellOut.scrollTop = this.shellOut.scrollHeight;
      });
      this.shellStatus.textContent = outcome(end);
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

  // restart or stop, after "Yes"
  ask(kind) {
    const [question, yes] = ASK[kind];
    clear(this.confirmBox).append(question + " ",
      h("button", { id: "btn-" + kind + "-yes", type: "button", class: "danger",
        onclick: () => { clear(this.confirmBox); this.simple(kind); } }, yes),
      h("button", { id: "btn-" + kind + "-no", type: "button",
        onclick: () => clear(this.confirmBox) }, "Cancel"));
  }

  async simple(kind) {
    this.say(kind + ": sending…", "running");
    try {
      const { id } = await api.post(api.agentPath(this.name, "/" + kind),
        await this.pathBody(kind));
      this.say(kind + " sent (" + id + "); the status at the top of this page follows it", "ok");
    } catch (e) {
      this.say(kind + " refused: " + e.message, "bad");
    }
  }

  async screenshot() {
    clear(this.shot);
    const status = h("p", { id: "shot-status", class: "muted" }, "taking a screenshot…");
    this.shot.appendChild(status);
    try {
      const { id } = await api.post(api.agentPath(this.name, "/screenshot"),
        await this.pathBody("screenshot"));
      const end = await api.stream(id, () => {});
      if (!end || end.status !== "done") {
        status.textContent = "Screenshot not available: " + outcome(end);
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
      note.textContent = "docker_ps: " + outcome(res.end) +
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
    const tbody = h("tbody", {}, list.map((c) => this.container(c)));
    this.dockerBox.appendChild(h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "Image", "State", "Status", "Ports", ""].map((x) => h("th", {}, x)))),
      tbody)));
  }

  // docker_restart of container c: the words for its state cell.
  async restartCtr(c) {
    try {
      const r = await this.runQuiet({ type: "docker_restart", arg: String(c.id || c.name) });
      return r.end && r.end.status === "done" && r.end.exit === 0 ? "restarted" : "restart " + outcome(r.end);
    } catch (e) {
      return "refused: " + e.message;
    }
  }

  container(c) {
    const state = h("td", {}, String(c.state || ""));
    const btn = h("button", { type: "button", onclick: async () => {
      btn.disabled = true;
      state.textContent = "restarting…";
      state.textContent = await this.restartCtr(c);
      btn.disabled = false;
    } }, "Restart");
    return h("tr", {}, h("td", {}, String(c.name || "")),
      h("td", {}, String(c.image || "")), state,
      h("td", {}, String(c.status || "")), h("td", {}, String(c.ports || "")),
      h("td", {}, btn));
  }
}
