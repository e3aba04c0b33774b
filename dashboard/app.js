// Maestro dashboard (foundation): sign in with a token, list the agents.
// Everything an agent reports is inserted as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let timer = null;

function ago(ts) {
  if (ts === null) return "never";
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return Math.round(s) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  return Math.round(s / 3600) + "h ago";
}

function pct(v) {
  return v === null ? "-" : Math.round(v) + "%";
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function render(agents) {
  const body = $("agents").querySelector("tbody");
  const counts = {};
  body.replaceChildren();
  for (const a of agents) {
    counts[a.status] = (counts[a.status] || 0) + 1;
    const tr = document.createElement("tr");
    cell(tr, a.name);
    cell(tr, a.status, "st-" + a.status);
    cell(tr, ago(a.last_seen));
    cell(tr, pct(a.cpu));
    cell(tr, pct(a.mem));
    cell(tr, pct(a.disk));
    cell(tr, a.tags.join(", "));
    cell(tr, a.version);
    body.appendChild(tr);
  }
  $("counts").textContent = Object.entries(counts)
    .map(([k, v]) => v + " " + k).join(" · ");
}

async function refresh() {
  const token = sessionStorage.getItem("maestro-token");
  const r = await fetch("/api/agents", { headers: { Authorization: "Bearer " + token } });
  if (r.status === 401) { signOut("The hub refused this token."); return; }
  if (r.ok) render((await r.json()).agents);
}

function signedIn() {
  $("signin").hidden = true;
  $("agents").hidden = false;
  $("signout").hidden = false;
  refresh();
  timer = setInterval(refresh, 2000);
}

function signOut(msg) {
  sessionStorage.removeItem("maestro-token");
  clearInterval(timer);
  $("signin").hidden = false;
  $("agents").hidden = true;
  $("signout").hidden = true;
  $("error").textContent = msg || "";
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("maestro-token", $("token").value.trim());
  $("token").value = "";
  signedIn();
});
$("signout").addEventListener("click", () => signOut());
if (sessionStorage.getItem("maestro-token")) signedIn();
