// push.js - "Notify me on this device": Web Push to this browser.
//
// The hub's public VAPID key (GET /api/push/key) is the
// applicationServerKey; the browser's subscription is posted to the hub,
// which keeps it for this token.  The panel says this device's state and
// lists the token's subscriptions (an admin's: all) with a Revoke button.
// Push needs a secure context (HTTPS with a certificate the device
// trusts, or localhost) and, on iOS, the page added to the home screen.
"use strict";

import * as api from "./api.js";
import { $ } from "./dom.js";

function keyBytes(b64url) {
  const s = atob(b64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export class PushPanel {
  constructor() {
    this.reg = null;
    $("push-toggle").addEventListener("click", () => {
      $("push-panel").hidden = !$("push-panel").hidden;
      if (!$("push-panel").hidden) this.refresh();
    });
    $("push-enable").addEventListener("click", () => this.enable());
    $("push-disable").addEventListener("click", () => this.disable());
  }

  supported() {
    return window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window;
  }

  say(text) { $("push-state").textContent = text; }

  async register() {
    if (!this.reg) this.reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    return this.reg;
  }

  async refresh() {
    if (!this.supported()) {
      this.say("Not available here: push needs HTTPS with a trusted certificate (on iOS, add the page to the home screen first).");
      $("push-enable").disabled = true;
    } else {
      const reg = await this.register();
      const sub = await reg.pushManager.getSubscription();
      this.say(sub ? "This device gets alerts." : "This device gets no alerts.");
      $("push-enable").hidden = !!sub;
      $("push-disable").hidden = !sub;
    }
    await this.list();
  }

  async list() {
    const ul = $("push-list");
    ul.textContent = "";
    const doc = await api.get("/api/push/subscriptions");
    for (const s of doc.subscriptions) {
      const li = document.createElement("li");
      li.dataset.id = s.id;
      li.textContent = s.name + " · " + s.service + " · " + new Date(s.created * 1000).toLocaleString() + " ";
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Revoke";
      b.addEventListener("click", () => this.revoke(s.id));
      li.append(b);
      ul.append(li);
    }
  }

  async enable() {
    try {
      const { key } = await api.get("/api/push/key");
      const reg = await this.register();
      if (Notification.permission !== "granted" && await Notification.requestPermission() !== "granted") {
        this.say("Notifications are blocked for this site.");
        return;
      }
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      await api.post("/api/push/subscriptions", sub.toJSON());
      await this.refresh();
    } catch (e) {
      this.say("Could not subscribe: " + e.message);
    }
  }

  async disable() {
    const reg = await this.register();
    const sub = await reg.pushManager.getSubscription();
    if (sub) await sub.unsubscribe();
    await this.refresh();
  }

  async revoke(id) {
    try {
      await api.del("/api/push/subscriptions/" + encodeURIComponent(id));
    } catch (e) {
      this.say("Could not revoke: " + e.message);
    }
    await this.list();
  }
}
