// keypanel.js - the "Operator key" panel of an agent's page: load an
// operator's Ed25519 private key (a file, or pasted PEM text) into this
// tab so that commands and terminals to agents that trust it are signed
// (signer.js), see its public line, forget it.  The key stays in this
// tab's memory only; the panel says so, and how to export an encrypted
// key for it.
"use strict";

import { h, panel } from "./dom.js";
import * as signer from "./signer.js";

export class KeyPanel {
  constructor() {
    this.unwatch = signer.watch(() => this.render());
  }

  destroy() {
    this.unwatch();
  }

  panel() {
    this.file = h("input", { id: "key-file", type: "file", accept: ".key,.pem,text/plain",
      "aria-label": "Private key file", onchange: () => this.fromFile() });
    this.text = h("textarea", { id: "key-pem", rows: "3", spellcheck: "false", autocomplete: "off",
      placeholder: "-----BEGIN PRIVATE KEY-----\n…", "aria-label": "Private key (PEM)" });
    this.name = h("input", { id: "key-name", type: "text", placeholder: "name (optional)",
      autocomplete: "off", "aria-label": "Key name" });
    this.status = h("p", { id: "key-status", class: "muted", "aria-live": "polite" });
    this.forgetBtn = h("button", { id: "key-forget", type: "button",
      onclick: () => signer.forget() }, "Forget key");
    const form = h("form", { class: "keyload", onsubmit: (e) => { e.preventDefault(); this.fromText(); } },
      this.file, this.text, this.name,
      h("button", { id: "key-load", type: "submit" }, "Load operator key"), this.forgetBtn);
    this.render();
    return panel("Operator key", h("p", { class: "muted hint" },
      "Agents with trust = keys run what such a key signed; those with require_signed run " +
      "nothing else. Load your key (hubctl key create makes one) to sign the commands sent " +
      "from this page. It stays in this tab's memory only: never sent to the hub, never " +
      "stored, gone when the tab reloads. An encrypted key must be exported unencrypted " +
      "first: openssl pkey -in ~/.config/maestro/keys/NAME.key -out NAME-plain.pem"),
    form, this.status);
  }

  render() {
    if (!this.status) return;
    const line = signer.publicLine();
    this.status.textContent = line ? "Loaded: " + line : "No key loaded: commands go unsigned.";
    this.status.dataset.state = line ? "ok" : "";
    this.forgetBtn.disabled = !line;
  }

  async fromFile() {
    const f = this.file.files && this.file.files[0];
    if (!f) return;
    const stem = f.name.replace(/(-plain)?\.(key|pem)$/, "");
    if (!this.name.value) this.name.value = stem;
    await this.take(await f.text());
    this.file.value = "";
  }

  async fromText() {
    await this.take(this.text.value);
  }

  async take(pem) {
    try {
      await signer.load(pem, this.name.value.trim());
    } catch (e) {
      this.status.textContent = "Not loaded: " + e.message;
      this.status.dataset.state = "bad";
    }
    // the text of a secret does not stay in the page
    this.text.value = "";
  }
}
