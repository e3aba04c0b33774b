// dom.js - building the page from data, as text only.
//
// Everything an agent reports (names, tags, facts, command output) is
// untrusted.  The dashboard never parses a string as HTML: elements are
// made with createElement and filled with text nodes, so a name such as
// <img src=x onerror=alert(1)> is shown as those characters.  The
// Content-Security-Policy (no inline script) is the second wall.
"use strict";

// h("div", {class: "x", dataset: {agent: n}, onclick: f}, "text", child)
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (id) => document.getElementById(id);

// A titled panel of a page.
export function panel(title, ...body) {
  return h("section", { class: "panel" }, h("h3", {}, title), ...body);
}

export function clear(e) {
  e.replaceChildren();
  return e;
}

export function ago(ts, now) {
  if (ts === null || ts === undefined || ts <= 0) return "never";
  const s = Math.max(0, (now || Date.now() / 1000) - ts);
  if (s < 1.5) return "just now";
  if (s < 60) return Math.round(s) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

export function pct(v) {
  return v === null || v === undefined ? "–" : Math.round(v) + "%";
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : Math.round(n)) + " " + u[i];
}

export function rate(n) {
  return n === null || n === undefined ? "–" : bytes(n) + "/s";
}

export function duration(s) {
  if (s === null || s === undefined) return "–";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hr = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60);
  if (d) return d + "d " + hr + "h " + m + "m";
  if (hr) return hr + "h " + m + "m";
  return m + "m " + (s % 60) + "s";
}

export function clock(ts) {
  if (!ts) return "–";
  const d = new Date(ts * 1000), now = new Date();
  const t = d.toLocaleTimeString([], { hour12: false });
  if (d.toDateString() === now.toDateString()) return t;
  return d.toLocaleDateString() + " " + t;
}
