// feed.js - the live feed from /ws/ui: no polling anywhere.
//
// The first message is {"t":"auth","token":...} (the token never goes in
// the URL); the hub answers with a snapshot of every agent, then pushes
// "agent" (a status change, at once), "agents" (metrics, at most once a
// second), "event" and "command" messages.  A dropped connection is
// retried with a growing delay; a refused token signs the session out.
"use strict";

const PING_EVERY = 25000;

export class Feed {
  constructor(token, handlers) {
    this.token = token;
    this.h = handlers;   // {message(msg), state(text), refused(why)}
    this.ws = null;
    this.delay = 500;
    this.stopped = false;
    this.timer = null;
    this.ping = null;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws/ui");
    this.ws = ws;
    this.h.state("connecting");
    ws.onopen = () => {
      ws.send(JSON.stringify({ t: "auth", token: this.token }));
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.t === "error") {
        if (msg.code === "unauthorized") {
          this.stop();
          this.h.refused(msg.error);
        }
        return;
      }
      if (msg.t === "snapshot") {
        this.delay = 500;
        this.h.state("live");
      }
      this.h.message(msg);
    };
    ws.onclose = () => {
      clearInterval(this.ping);
      if (this.stopped || this.ws !== ws) return;
      this.h.state("reconnecting");
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
    clearInterval(this.ping);
    this.ping = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send('{"t":"ping"}');
    }, PING_EVERY);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
