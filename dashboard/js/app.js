// app.js - Maestro's dashboard: sign in, the live feed, and the six
// views (agents, one agent, containers, events, releases, config), chosen
// by the URL's fragment: #/ , #/agent/NAME , #/containers , #/events ,
// #/releases , #/config.  No framework and no build step: these
// modules are served as they are, uPlot comes from the npm package the
// build copies to /vendor/.
"use strict";

import * as api from "./api.js";
import { $ } from "./dom.js";
import { Feed } from "./feed.js";
import { Grid } from "./grid.js";
import { AgentPage, MissingPage } from "./agent.js";
import { Events } from "./events.js";
import { ContainersView } from "./containers.js";
import { ReleasesView } from "./releases.js";
import { ConfigView } from "./config.js";
import { PushPanel } from "./push.js";

const app = {
  agents: new Map(),
  role: null,
  feed: null,
  page: null,
  grid: null,
  events: null,
  containers: null,
  releases: null,
  config: null,
  loadedEvents: false,
};

function show(id) {
  for (const v of ["grid-view", "agent-view", "containers-view", "events-view", "releases-view", "config-view"]) {
    $(v).hidden = v !== id;
  }
  if (id !== "containers-view") app.containers.hide();
  if (id !== "releases-view") app.releases.hide();
  if (id !== "config-view") app.config.hide();
  for (const a of document.querySelectorAll("nav a")) {
    a.setAttribute("aria-current", String(a.dataset.view === id));
  }
}

function route() {
  if (!app.role) return;
  const hash = location.hash || "#/";
  if (app.page && !hash.startsWith("#/agent/")) {
    app.page.destroy();
    app.page = null;
  }
  if (hash.startsWith("#/agent/")) {
    const name = decodeURIComponent(hash.slice(8));
    const known = app.agents.has(name);
    if (!app.page || app.page.name !== name || app.page.missing === known) {
      if (app.page) app.page.destroy();
      show("agent-view");
      app.page = known ? new AgentPage(name, app) : new MissingPage(name);
    }
    show("agent-view");
    document.title = name + " · Maestro";
  } else if (hash === "#/containers") {
    show("containers-view");
    document.title = "Containers · Maestro";
    app.containers.show(app.agents);
  } else if (hash === "#/releases") {
    show("releases-view");
    document.title = "Releases · Maestro";
    app.releases.show();
  } else if (hash === "#/config") {
    show("config-view");
    document.title = "Config · Maestro";
    app.config.show();
  } else if (hash === "#/events") {
    show("events-view");
    document.title = "Events · Maestro";
    if (!app.loadedEvents) {
      app.loadedEvents = true;
      app.events.load();
    } else {
      app.events.render();
    }
  } else {
    show("grid-view");
    document.title = "Maestro";
  }
}

function onAgent(a) {
  app.agents.set(a.name, a);
  app.grid.update(a);
  app.containers.onAgent(a);
  if (app.page && app.page.name === a.name) {
    if (app.page.missing) route();    // it enrolled while its page was open
    else app.page.onAgent(a);
  }
}

function onMessage(m) {
  switch (m.t) {
    case "snapshot":
      app.role = m.role;
      $("whoami").textContent = m.name + " (" + m.role + ")";
      app.agents.clear();
      for (const a of m.agents) {
        app.agents.set(a.name, a);
        app.containers.onAgent(a);
      }
      app.grid.reset(m.agents);
      $("signin").hidden = true;
      $("app").hidden = false;
      document.body.dataset.signedIn = "1";
      route();
      if (app.page && app.agents.has(app.page.name)) app.page.onAgent(app.agents.get(app.page.name));
      break;
    case "agent": onAgent(m.agent); break;
    case "agents": for (const a of m.agents) onAgent(a); break;
    case "event":
      if (app.loadedEvents) app.events.add(m.event);
      if (app.page) app.page.onEvent(m.event);
      break;
    case "command": if (app.page) app.page.onCommand(m.command); break;
    default: break;
  }
}

function onState(s) {
  const e = $("live");
  e.textContent = s;
  e.dataset.state = s;
}

function signOut(msg) {
  if (app.feed) app.feed.stop();
  app.feed = null;
  onState("signed out");
  $("live").dataset.state = "off";
  api.token.clear();
  if (app.page) app.page.destroy();
  app.page = null;
  app.role = null;
  app.loadedEvents = false;
  app.agents.clear();
  app.grid.reset([]);
  $("app").hidden = true;
  $("push-panel").hidden = true;
  $("signin").hidden = false;
  delete document.body.dataset.signedIn;
  $("error").textContent = msg || "";
  $("token").focus();
}

function start() {
  $("error").textContent = "";
  app.feed = new Feed(api.token.get(), {
    message: onMessage,
    state: onState,
    refused: (why) => signOut("The hub refused this token: " + why),
  });
}

function init() {
  app.grid = new Grid((name) => { location.hash = "#/agent/" + encodeURIComponent(name); });
  app.events = new Events();
  app.containers = new ContainersView($("containers-view"));
  app.releases = new ReleasesView($("releases-view"));
  app.config = new ConfigView($("config-view"), app);
  app.push = new PushPanel();
  api.setUnauthorizedHandler(signOut);
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("token").value.trim();
    $("token").value = "";
    if (!t) return;
    api.token.set(t);
    start();
  });
  $("signout").addEventListener("click", () => signOut("Signed out."));
  window.addEventListener("hashchange", route);
  if (api.token.get()) start();
}

init();
