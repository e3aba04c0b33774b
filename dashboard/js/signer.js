// signer.js - the operator's signing key in the dashboard, and commands
// signed with it the way hubctl signs them (docs/protocol.md, "Signed
// commands"): a payload {"v":1,"agent","kind","id","iat","exp", the
// command's fields} whose exact text is signed with Ed25519 after the
// domain line "maestro-cmd-v1\n" and sent as {"payload","key","sig"}.
//
// Rules kept here:
// - The key is an unencrypted PKCS#8 PEM the operator loads into this
//   page (WebCrypto cannot decrypt an encrypted one; `openssl pkey`
//   exports it).  It is imported once as extractable only to read its
//   public half, then kept as a non-extractable CryptoKey in this
//   module's memory: never sent to the hub, never in localStorage or
//   sessionStorage, gone when the tab reloads or closes.
// - A command is signed only for an agent whose trust lists this key;
//   an agent that requires signatures and does not trust the loaded key
//   gets no command from the dashboard at all (blockedReason()).
"use strict";

const DOMAIN = "maestro-cmd-v1\n";
const WINDOW = 300;          // seconds from iat to exp (MC_SIG_WINDOW)
export const KIND_TERMINAL = "terminal";
const PEM_PLAIN = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/;

let loaded = null;           // { name, b64, key: CryptoKey (non-extractable) }
const watchers = new Set();

function changed() {
  for (const f of watchers) f();
}

// Call f whenever a key is loaded or forgotten; returns the unwatch.
export function watch(f) {
  watchers.add(f);
  return () => watchers.delete(f);
}

function b64ToBytes(s) {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function bytesToB64(b) {
  let s = "";
  for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
  return btoa(s);
}

// JWK's base64url (no padding) as standard, padded base64.
function urlToB64(s) {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  return t + "=".repeat((4 - t.length % 4) % 4);
}

// Load the PEM text of a private key; name labels it ("" = from the key).
// Resolves with the public line, or rejects with a reason for people.
export async function load(text, name) {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text)) {
    throw new Error("this key is encrypted; the browser cannot decrypt it. Export it " +
      "unencrypted for this page: openssl pkey -in ~/.config/maestro/keys/NAME.key " +
      "-out NAME-plain.pem");
  }
  const m = PEM_PLAIN.exec(text);
  if (!m) throw new Error("not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Error("this page has no WebCrypto (it needs https or localhost)");
  }
  let der;
  try {
    der = b64ToBytes(m[1].replace(/\s+/g, ""));
  } catch (e) {
    throw new Error("the key's base64 is damaged");
  }
  let jwk;
  try {
    const tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", tmp);
  } catch (e) {
    throw new Error("not an Ed25519 private key (or this browser has no Ed25519)");
  } finally {
    der.fill(0);
  }
  const key = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
  const b64 = urlToB64(jwk.x);
  jwk.d = "";
  loaded = { name: name || "", b64, key };
  changed();
  return publicLine();
}

export function forget() {
  loaded = null;
  changed();
}

// "ed25519:B64 NAME" of the loaded key, or "".
export function publicLine() {
  if (!loaded) return "";
  return "ed25519:" + loaded.b64 + (loaded.name ? " " + loaded.name : "");
}

// Does agent a (the API's JSON) trust the loaded key?
export function trusts(a) {
  if (!loaded || !a || !Array.isArray(a.trust)) return false;
  return a.trust.some((line) => String(line).split(/\s+/)[0] === "ed25519:" + loaded.b64);
}

// Why no command may go to agent a from here, or "".  what: the hubctl
// words to use instead ("send NAME shell -- CMD").
export function blockedReason(a, what) {
  if (!a || !a.require_signed || trusts(a)) return "";
  return a.name + " runs only commands signed by an operator key it trusts; " +
    (loaded ? "the loaded key is not one of them. " : "load one (Operator key, above). ") +
    "Or use: hubctl --key NAME " + what;
}

// The signed envelope of a command for agent a, or null when the loaded
// key is not one a trusts (the command then goes unsigned).  fields: cmd,
// arg, timeout as the command has them.
export async function envelope(a, kind, fields) {
  if (!trusts(a)) return null;
  const nonce = new Uint8Array(16);
  crypto.getRandomValues(nonce);
  const iat = Math.floor(Date.now() / 1000);
  const p = { v: 1, agent: a.name, kind,
    id: "n-" + Array.from(nonce, (x) => x.toString(16).padStart(2, "0")).join(""),
    iat, exp: iat + WINDOW };
  for (const k of ["cmd", "arg", "timeout"]) {
    if (fields && fields[k] !== undefined && fields[k] !== "" && fields[k] !== null) p[k] = fields[k];
  }
  const payload = JSON.stringify(p);
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, loaded.key,
    new TextEncoder().encode(DOMAIN + payload));
  return { payload, key: loaded.b64, sig: bytesToB64(sig) };
}

// The most seconds a signed command may wait on the hub: what its
// signature has left, less a second for the clocks between.
export const QUEUE_MAX = WINDOW - 5;
