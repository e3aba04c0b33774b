// replay.js - a recorded terminal session played back in an xterm.js
// terminal of the recorded size, with its timing: play / pause, speed 1×,
// 2× or 4×, and long idle gaps shortened to 2 s (as asciinema's
// --idle-time-limit does), so a session left open over lunch replays in
// seconds.
//
// The recording is the hub's asciicast v2 (docs/api.md, GET
// /api/sessions/{id}/cast): a header line, then [seconds, code, data]
// events; "o" is output, "r" a resize to "COLSxROWS"; "i" (typed input,
// recorded only with record_input) and anything else are not shown.
"use strict";

import * as api from "./api.js";
import { h, clear } from "./dom.js";
import { TermView } from "./termview.js";

const IDLE_MAX = 2;          // seconds: the longest pause a replay keeps
const SPEEDS = [1, 2, 4];
const SIZE_MAX = 1000;

function dim(v, def) {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= SIZE_MAX ? n : def;
}

// The cast's text as {width, height, events: [{at, code, data}]}, "at"
// in seconds of replay (idle gaps shortened).  Throws on a bad header;
// a bad event line is skipped.
export function parseCast(text) {
  const lines = text.split("\n");
  let head;
  try { head = JSON.parse(lines[0]); } catch (e) { head = null; }
  if (!head || typeof head !== "object" || head.version !== 2) {
    throw new Error("not an asciicast v2 recording");
  }
  const events = [];
  let last = 0, at = 0;
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue;
    let e;
    try { e = JSON.parse(lines[i]); } catch (err) { continue; }
    if (!Array.isArray(e) || typeof e[0] !== "number" || typeof e[1] !== "string" ||
        typeof e[2] !== "string") continue;
    at += Math.min(Math.max(0, e[0] - last), IDLE_MAX);
    last = Math.max(last, e[0]);
    if (e[1] === "o" || e[1] === "r") events.push({ at, code: e[1], data: e[2] });
  }
  return { width: dim(head.width, 80), height: dim(head.height, 24), events };
}

function clock(s) {
  s = Math.floor(s);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

export class Replay {
  constructor() {
    this.el = h("div", { id: "replay", class: "replay", hidden: true });
    this.view = null;
    this.timer = null;
    this.ticker = null;
    this.token = 0;            // which play() is current
  }

  // Fetch session s's recording and play it from the start.
  async open(s) {
    this.stop();
    const token = ++this.token;
    this.title = h("span", { class: "replay-title" }, "Replay of " + s.id +
      (s.user ? " (" + s.user + ")" : ""));
    this.status = h("span", { id: "replay-status", class: "muted" }, "loading…");
    this.el.hidden = false;
    clear(this.el).append(h("div", { class: "term-bar" }, this.title,
      h("button", { id: "replay-close", type: "button", onclick: () => this.close() }, "Close")),
    this.status);
    let cast;
    try {
      const text = await api.text("/api/sessions/" + encodeURIComponent(s.id) + "/cast");
      cast = parseCast(text);
    } catch (e) {
      if (token !== this.token) return;
      this.status.textContent = "The recording could not be replayed: " + e.message;
      this.status.dataset.state = "bad";
      return;
    }
    if (token !== this.token) return;
    this.build(cast);
    try {
      this.view = await TermView.create(this.box, { cols: cast.width, rows: cast.height, input: false });
    } catch (e) {
      this.status.textContent = "The terminal could not load: " + e.message;
      this.status.dataset.state = "bad";
      return;
    }
    if (token !== this.token) {
      this.view.dispose();
      this.view = null;
      return;
    }
    this.play();
  }

  build(cast) {
    this.cast = cast;
    this.total = cast.events.length ? cast.events[cast.events.length - 1].at : 0;
    this.idx = 0;              // the next event to show
    this.pos = 0;              // seconds of replay shown
    this.speed = 1;
    this.playing = false;
    this.toggle = h("button", { id: "replay-toggle", type: "button", onclick: () =>
      (this.playing ? this.pause() : this.play()) }, "Pause");
    this.speeds = h("span", { class: "tabs speeds", role: "group", "aria-label": "Speed" },
      SPEEDS.map((n) => h("button", { id: "replay-speed-" + n, type: "button",
        "aria-pressed": String(n === this.speed), onclick: () => this.setSpeed(n) }, n + "×")));
    this.box = h("div", { id: "replay-term", class: "replay-box" });
    this.status.textContent = "";
    clear(this.el).append(h("div", { class: "term-bar" }, this.title, this.toggle, this.speeds,
      this.status, h("button", { id: "replay-close", type: "button", onclick: () => this.close() },
        "Close")), this.box);
  }

  now() {
    return this.playing ? this.pos0 + (performance.now() - this.wall0) / 1000 * this.speed : this.pos;
  }

  play() {
    if (!this.view) return;
    if (this.idx >= this.cast.events.length) {     // again, from the start
      this.view.term.reset();
      this.view.term.resize(this.cast.width, this.cast.height);
      this.idx = 0;
      this.pos = 0;
    }
    this.playing = true;
    this.pos0 = this.pos;
    this.wall0 = performance.now();
    this.toggle.textContent = "Pause";
    this.el.dataset.state = "playing";
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.showTime(), 250);
    this.tick();
  }

  pause() {
    this.pos = this.now();
    this.playing = false;
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.toggle.textContent = "Play";
    this.el.dataset.state = "paused";
    this.showTime();
  }

  setSpeed(n) {
    if (this.playing) {
      this.pos = this.now();
      this.pos0 = this.pos;
      this.wall0 = performance.now();
    }
    this.speed = n;
    for (const b of this.speeds.children) {
      b.setAttribute("aria-pressed", String(b.id === "replay-speed-" + n));
    }
    if (this.playing) {
      clearTimeout(this.timer);
      this.tick();
    }
  }

  // Show every event that is due, then sleep until the next one.
  tick() {
    const ev = this.cast.events;
    const now = this.now();
    const term = this.view.term;
    let out = "";
    while (this.idx < ev.length && ev[this.idx].at <= now) {
      const e = ev[this.idx++];
      if (e.code === "o") {
        out += e.data;
        continue;
      }
      const m = /^(\d+)x(\d+)$/.exec(e.data);
      if (out) term.write(out);
      out = "";
      if (m) term.resize(dim(m[1], term.cols), dim(m[2], term.rows));
    }
    if (out) term.write(out);
    if (this.idx >= ev.length) {
      this.done();
      return;
    }
    const wait = (ev[this.idx].at - now) * 1000 / this.speed;
    this.timer = setTimeout(() => this.tick(), Math.max(4, wait));
  }

  done() {
    this.pos = this.total;
    this.playing = false;
    clearInterval(this.ticker);
    this.toggle.textContent = "Play again";
    this.showTime();
    // the state changes once xterm.js has drawn the last output
    this.view.term.write("", () => { this.el.dataset.state = "done"; });
  }

  showTime() {
    this.status.textContent = clock(Math.min(this.now(), this.total)) + " / " + clock(this.total);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.playing = false;
    if (this.view) this.view.dispose();
    this.view = null;
  }

  close() {
    this.token++;
    this.stop();
    delete this.el.dataset.state;
    clear(this.el);
    this.el.hidden = true;
  }

  destroy() {
    this.close();
  }
}
