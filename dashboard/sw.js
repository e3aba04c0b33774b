// sw.js - the dashboard's service worker: shows the hub's Web Push alerts
// as notifications and, when one is clicked, opens (or focuses) the
// dashboard on the alert's agent.  Served from / so that its scope is the
// whole dashboard; it caches nothing and handles no fetch.
"use strict";

self.addEventListener("push", (e) => {
  let m = {};
  try { m = e.data ? e.data.json() : {}; } catch (err) { m = { body: e.data.text() }; }
  const title = m.title || "Maestro";
  e.waitUntil(self.registration.showNotification(title, {
    body: m.body || "",
    tag: m.id || undefined,
    icon: "/favicon.svg",
    data: { url: typeof m.url === "string" && m.url.startsWith("/") ? m.url : "/" },
  }));
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = new URL(e.notification.data.url, self.location.origin).href;
  e.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const w of wins) {
      if (new URL(w.url).origin === self.location.origin) {
        await w.focus();
        return w.navigate(url);
      }
    }
    return self.clients.openWindow(url);
  })());
});
