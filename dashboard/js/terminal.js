// terminal.js - the Terminal tab of an agent's page: a shell on the agent
// over WS /ws/term (docs/api.md), drawn by xterm.js (termview.js).
//
// The first message signs in as on /ws/ui (the token from sessionStorage,
// never in the URL) and names the agent and the terminal's size; then
// keystrokes go out and output comes in as binary frames, and a resize of
// the window (debounced) refits the terminal and tells the hub.  When the
// session ends (the shell exited, the agent went away, idle, refused, ...)
// the terminal says why in its last line and the Reconnect button starts
// a new one.  A viewer token, or an agent that is not online, gets the
// reason instead of a session.  With a loaded operator key the agent
// trusts, the auth message carries the session's signature (kind
// "terminal", signer.js); an agent that requires one the loaded key
// cannot give gets the reason and the hubctl line instead.
//
// Bounds: keystrokes go out in frames of at most 16 KiB, and input waiting
// in the socket past 1 MiB (a paste the agent cannot take yet) is dropped
// with a note; output that xterm.js has not drawn yet past 32 MiB (the
// browser cannot keep up) ends the session, so no buffer grows without
// limit here.
"use strict";

import * as api from "./api.js";
import { h, panel } from "./dom.js";
import { TermView } from "./termview.js";
import * as signer from "./signer.js";

const FRAME_MAX = 16 * 1024;           // the hub's limit for a binary frame
const INPUT_QUEUE_MAX = 1024 * 1024;
const OUTPUT_PENDING_MAX = 32 * 1024 * 1024;
const PING_EVERY = 25000;
const RESIZE_DELAY = 150;

// An end message of the hub, in words.
function ending(m, agent) {
  const why = m.msg ? ": " + m.msg : "";
  switch (m.reason) {
    case "exit": return "the shell exited" + (m.exit === null || m.exit === undefined ? "" :
      " (status " + m.exit + ")");
    case "closed": return "the session was closed";
    case "idle": return "the session ended after a long time with nothing typed or printed" + why;
    case "agent_gone": return agent + " went away (its listener disconnected); the session ended";
    case "shutdown": return "the hub is stopping; the session ended";
    case "refused": return agent + " refused the terminal" + why;
    case "failed": return "the shell could not start" + why;
    default: return "the session ended (" + (m.reason || "no reason given") + ")" + why;
  }
}

export class TerminalTab {
  // onEnd: called when a session that opened has ended (the sessions list
  // has a new recording)
  constructor(name, app, onEnd) {
    this.name = name;
    this.app = app;
    this.onEnd = onEnd || (() => {});
    this.agent = null;
    this.view = null;          // TermView, made when the tab is first shown
    this.ws = null;
    this.state = "idle";       // idle, connecting, open, ended
    this.sid = null;
    this.pending = 0;          // output bytes given to xterm.js, not yet drawn
    this.ping = null;
    this.resizeTimer = null;
    this.shown = false;
    this.enc = new TextEncoder();
    this.onWindowResize = () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.fit(), RESIZE_DELAY);
    };
    window.addEventListener("resize", this.onWindowResize);
    this.unwatch = signer.watch(() => this.update());
  }

  canRun() {
    return this.app.role === "operator" || this.app.role === "admin";
  }

  online() {
    return !!this.agent && (this.agent.status === "online" || this.agent.status === "late");
  }

  panel() {
    this.note = h("p", { id: "term-note", class: "muted" });
    this.status = h("span", { id: "term-status", class: "muted", "aria-live": "polite" });
    this.button = h("button", { id: "term-connect", type: "button", onclick: () => this.connect() },
      "Connect");
    this.box = h("div", { id: "term", class: "term-box" });
    this.help = h("p", { class: "muted hint" }, "Copy: select, then Ctrl+Shift+C. " +
      "Paste: Ctrl+Shift+V. Every session is recorded; replay it below.");
    this.update();
    return panel("Terminal", this.note, h("div", { class: "term-bar" }, this.button, this.status),
      this.box, this.help);
  }

  // Why this tab cannot open a session now, or "".
  blocked() {
    if (!this.canRun()) return "Your token is a viewer token: a terminal needs an operator or admin token.";
    if (!this.online()) {
      return this.name + " is " + (this.agent ? this.agent.status : "unknown") +
        ": a terminal needs the agent online.";
    }
    return signer.blockedReason(this.agent, "term " + this.name);
  }

  update() {
    if (!this.button) return;
    const why = this.blocked();
    const live = this.state === "connecting" || this.state === "open";
    this.note.textContent = live ? "" : why;
    this.note.hidden = live || !why;
    this.button.disabled = live || !!why;
    this.button.textContent = this.state === "idle" ? "Connect" : "Reconnect";
    this.box.hidden = this.state === "idle" && !!why;
    this.help.hidden = this.box.hidden;
  }

  say(text, state) {
    this.status.textContent = text;
    this.status.dataset.state = state || "";
  }

  onAgent(a) {
    this.agent = a;
    this.update();
  }

  // The tab is shown: the first time, a session opens (when it may).
  show() {
    this.shown = true;
    if (this.state === "idle" && !this.blocked()) this.connect();
    else this.fit();
  }

  hide() {
    this.shown = false;
  }

  fit() {
    if (this.view && this.shown) this.view.fit();
  }

  async ensureView() {
    if (this.view) return this.view;
    const view = await TermView.create(this.box);
    if (this.destroyed) {
      view.dispose();
      return null;
    }
    this.view = view;
    view.term.onData((s) => this.send(this.enc.encode(s)));
    view.term.onBinary((s) => this.send(Uint8Array.from(s, (c) => c.charCodeAt(0) & 255)));
    view.term.onResize(({ cols, rows }) => {
      if (this.state === "open") this.sendJson({ t: "resize", cols, rows });
    });
    return view;
  }

  async connect() {
    if (this.blocked() || this.state === "connecting" || this.state === "open") return;
    this.state = "connecting";
    this.update();
    this.say("connecting…", "running");
    let view;
    try {
      view = await this.ensureView();
    } catch (e) {
      this.state = "ended";
      this.update();
      this.say("The terminal could not load (" + e.message + "): was the dashboard built with make?",
        "bad");
      return;
    }
    if (!view) return;
    view.term.reset();
    this.box.hidden = false;
    this.fit();
    this.pending = 0;
    this.sid = null;
    // signed before the socket exists: its open must find the auth ready
    const env = await signer.envelope(this.agent, signer.KIND_TERMINAL, {});
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws/term");
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      const auth = { t: "auth", token: api.token.get(), agent: this.name,
        cols: view.term.cols, rows: view.term.rows };
      if (env) auth.signed = env;
      ws.send(JSON.stringify(auth));
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.receive(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.finish(this.state === "open" ? "the connection to the hub was lost" +
        (ev.code && ev.code !== 1000 ? " (" + ev.code + ")" : "") :
        "the hub closed the connection before the session opened" +
        (ev.code && ev.code !== 1000 ? " (" + ev.code + ")" : ""));
    };
    clearInterval(this.ping);
    this.ping = setInterval(() => this.sendJson({ t: "ping" }), PING_EVERY);
  }

  receive(data) {
    if (typeof data !== "string") {
      this.output(new Uint8Array(data));
      return;
    }
    let m;
    try { m = JSON.parse(data); } catch (e) { return; }
    switch (m.t) {
      case "open":
        this.opened(m);
        break;
      case "end":
        this.finish(ending(m, this.name), m.reason === "exit" || m.reason === "closed");
        break;
      case "error":
        this.finish((this.state === "open" ? "the session ended: " : "refused: ") +
          (m.error || m.code || "an error"));
        break;
      default:
        break;
    }
  }

  opened(m) {
    this.state = "open";
    this.sid = m.sid || null;
    this.update();
    this.say("connected to " + this.name + (this.sid ? " — session " + this.sid : "") +
      " (recorded)", "ok");
    // the window may have changed while the hub was answering
    const t = this.view.term;
    this.sendJson({ t: "resize", cols: t.cols, rows: t.rows });
    t.focus();
  }

  output(bytes) {
    if (this.state !== "open") return;
    this.pending += bytes.length;
    if (this.pending > OUTPUT_PENDING_MAX) {
      this.close();
      this.finish("the browser could not draw the output as fast as it came; the session was closed");
      return;
    }
    this.view.term.write(bytes, () => { this.pending -= bytes.length; });
  }

  send(bytes) {
    if (this.state !== "open" || !bytes.length) return;
    if (this.ws.bufferedAmount + bytes.length > INPUT_QUEUE_MAX) {
      this.say("input dropped: " + this.name + " is not taking input as fast as it is typed or pasted",
        "bad");
      return;
    }
    for (let i = 0; i < bytes.length; i += FRAME_MAX) this.ws.send(bytes.subarray(i, i + FRAME_MAX));
  }

  sendJson(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  // The session is over (or never opened): say why, in the terminal and
  // beside the button.
  finish(why, clean) {
    const was = this.state;
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.ping);
    if (ws) ws.close();
    if (was !== "connecting" && was !== "open") return;
    this.state = "ended";
    this.update();
    this.say("Session ended: " + why + ".", clean ? "" : "bad");
    if (this.view) this.view.term.write("\r\n\x1b[0m\x1b[1;33m[maestro] " + why + ".\x1b[0m\r\n");
    if (was === "open") this.onEnd();
  }

  // Ask the hub to end the session (leaving the page).
  close() {
    this.sendJson({ t: "close" });
  }

  destroy() {
    this.destroyed = true;
    this.unwatch();
    window.removeEventListener("resize", this.onWindowResize);
    clearTimeout(this.resizeTimer);
    clearInterval(this.ping);
    if (this.ws) {
      this.close();
      this.ws.close();
      this.ws = null;
    }
    if (this.view) this.view.dispose();
    this.view = null;
  }
}
