// api.js - the REST API with the session's token.
//
// The token lives in sessionStorage only (gone when the tab closes) and
// travels in the Authorization header, never in a URL.  A 401 signs the
// session out (onUnauthorized).
"use strict";

const KEY = "maestro-token";
let onUnauthorized = () => {};

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + token.get() } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) onUnauthorized("The hub refused this token.");
  return r;
}

async function fail(r) {
  let doc = null;
  try { doc = await r.json(); } catch (e) { /* not JSON */ }
  const msg = doc && typeof doc.error === "string" ? doc.error : "HTTP " + r.status;
  return new ApiError(r.status, doc && doc.code, msg);
}

export async function get(path) {
  const r = await call("GET", path);
  if (!r.ok) throw await fail(r);
  return r.json();
}

// A body that is not JSON (a session's recording), as text.
export async function text(path) {
  const r = await call("GET", path);
  if (!r.ok) throw await fail(r);
  return r.text();
}

export async function post(path, body) {
  const r = await call("POST", path, body === undefined ? {} : body);
  if (!r.ok) throw await fail(r);
  return r.json();
}

export async function del(path) {
  const r = await call("DELETE", path);
  if (!r.ok) throw await fail(r);
  return r.json();
}

export function agentPath(name, suffix) {
  return "/api/agents/" + encodeURIComponent(name) + (suffix || "");
}

// Follow a command's ndjson stream: onLine(obj) per line; resolves with
// the "end" line.
export async function stream(id, onLine) {
  const r = await call("GET", "/api/commands/" + encodeURIComponent(id) + "/stream");
  if (!r.ok) throw await fail(r);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = "", end = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const obj = JSON.parse(line);
      if (obj.t === "end") end = obj;
      onLine(obj);
    }
  }
  return end;
}

// A command's picture as an object URL (the caller revokes it).
export async function png(id) {
  const r = await call("GET", "/api/commands/" + encodeURIComponent(id) + "/png");
  if (!r.ok) throw await fail(r);
  return URL.createObjectURL(await r.blob());
}
