// grid.js - the agent cards: status colour, CPU / memory / disk bars (and
// a GPU bar and temperatures for an agent that reports them), last seen,
// tags; filtered by status, tag and name, sorted; counts per
// status at the top.  A card is updated in place when its agent changes,
// so a status change shows as soon as the feed brings it.
"use strict";

import { h, $, clear, ago, pct } from "./dom.js";

export const STATUSES = ["online", "late", "critical", "restarting", "offline"];
const SEVERITY = { critical: 0, late: 1, restarting: 2, offline: 3, online: 4 };

function level(v) {
  if (v === null || v === undefined) return "none";
  return v >= 90 ? "high" : v >= 75 ? "warn" : "ok";
}

function bar(label) {
  const fill = h("div", { class: "fill" });
  const val = h("span", { class: "val" }, "–");
  const row = h("div", { class: "bar" }, h("span", { class: "lbl" }, label),
    h("div", { class: "track" }, fill), val);
  return { row, fill, val };
}

function setBar(b, v) {
  b.fill.style.width = (v === null || v === undefined ? 0 :
    Math.max(0, Math.min(100, v))) + "%";
  b.fill.dataset.level = level(v);
  b.val.textContent = pct(v);
}

// "GPU 71°C · CPU 61°C": the hottest of each the agent reports, or "".
function temps(a) {
  return [["GPU", a.gpu_temp], ["CPU", a.cpu_temp]]
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => k + " " + Math.round(v) + "°C").join(" · ");
}

export class Grid {
  constructor(onOpen) {
    this.onOpen = onOpen;
    this.cards = new Map();      // name -> {el, parts}
    this.agents = new Map();     // name -> agent object
    this.status = "all";
    this.root = $("cards");
    this.layoutPending = false;
    $("f-search").addEventListener("input", () => this.layout());
    $("f-tag").addEventListener("change", () => this.layout());
    $("f-sort").addEventListener("change", () => this.layout());
    for (const s of ["all"].concat(STATUSES)) {
      $("count-" + s).addEventListener("click", () => this.setStatus(s));
    }
    setInterval(() => this.tick(), 1000);
  }

  setStatus(s) {
    this.status = s;
    for (const x of ["all"].concat(STATUSES)) {
      $("count-" + x).setAttribute("aria-pressed", String(x === s));
    }
    this.layout();
  }

  reset(agents) {
    this.agents.clear();
    this.cards.clear();
    clear(this.root);
    for (const a of agents) this.agents.set(a.name, a);
    for (const a of agents) this.card(a);
    this.layout();
  }

  update(a) {
    const old = this.agents.get(a.name);
    this.agents.set(a.name, a);
    this.card(a);
    // a new agent, a new status or new tags change counts, order or filters
    if (!old || old.status !== a.status || old.tags.join() !== a.tags.join() ||
        this.sortKey() !== "name") this.layout();
  }

  card(a) {
    let c = this.cards.get(a.name);
    if (!c) {
      const parts = {
        name: h("h3", { class: "name" }),
        badge: h("span", { class: "badge" }),
        cpu: bar("CPU"), mem: bar("MEM"), disk: bar("DISK"), gpu: bar("GPU"),
        temps: h("div", { class: "temps" }),
        seen: h("span", { class: "seen" }),
        tags: h("span", { class: "tags" }),
      };
      const el = h("article", { class: "card", tabindex: "0", role: "link",
        dataset: { agent: a.name },
        onclick: () => this.onOpen(a.name),
        onkeydown: (e) => { if (e.key === "Enter") this.onOpen(a.name); } },
        h("header", {}, h("span", { class: "dot" }), parts.name, parts.badge),
        h("div", { class: "bars" }, parts.cpu.row, parts.mem.row, parts.disk.row,
          parts.gpu.row, parts.temps),
        h("footer", {}, parts.seen, parts.tags));
      c = { el, parts };
      this.cards.set(a.name, c);
      this.root.appendChild(el);
    }
    const p = c.parts;
    c.el.dataset.status = a.status;
    c.el.className = "card st-" + a.status;
    p.name.textContent = a.name;
    p.name.title = a.name;
    p.badge.textContent = a.status;
    setBar(p.cpu, a.cpu);
    setBar(p.mem, a.mem);
    setBar(p.disk, a.disk);
    p.gpu.row.hidden = !a.gpu_count;
    if (a.gpu_count) setBar(p.gpu, a.gpu_util);
    p.gpu.row.title = a.gpu_count ? "busiest of " + a.gpu_count + " GPU" +
      (a.gpu_count > 1 ? "s" : "") + "; memory " + pct(a.gpu_mem) : "";
    p.temps.textContent = temps(a);
    p.temps.hidden = !p.temps.textContent;
    p.seen.textContent = ago(a.last_seen);
    if (p.tags.dataset.tags !== a.tags.join("\u0000")) {
      p.tags.dataset.tags = a.tags.join("\u0000");
      clear(p.tags);
      for (const t of a.tags) p.tags.appendChild(h("span", { class: "tag" }, t));
    }
  }

  tick() {
    for (const [name, c] of this.cards) {
      c.parts.seen.textContent = ago(this.agents.get(name).last_seen);
    }
  }

  sortKey() {
    return $("f-sort").value;
  }

  matches(a, q, tag) {
    if (this.status !== "all" && a.status !== this.status) return false;
    if (tag && !a.tags.includes(tag)) return false;
    return !q || a.name.toLowerCase().includes(q);
  }

  compare(key) {
    const num = (v) => (v === null || v === undefined ? -1 : v);
    const byName = (x, y) => x.name.localeCompare(y.name);
    switch (key) {
      case "status": return (x, y) => SEVERITY[x.status] - SEVERITY[y.status] || byName(x, y);
      case "cpu": case "mem": case "disk":
        return (x, y) => num(y[key]) - num(x[key]) || byName(x, y);
      case "seen": return (x, y) => num(y.last_seen) - num(x.last_seen) || byName(x, y);
      default: return byName;
    }
  }

  // Counts, the tag list, filters and order, at most once a frame.
  layout() {
    if (this.layoutPending) return;
    this.layoutPending = true;
    requestAnimationFrame(() => {
      this.layoutPending = false;
      this.doLayout();
    });
  }

  doLayout() {
    const all = [...this.agents.values()];
    const counts = { all: all.length };
    const tags = new Set();
    for (const s of STATUSES) counts[s] = 0;
    for (const a of all) {
      counts[a.status] = (counts[a.status] || 0) + 1;
      for (const t of a.tags) tags.add(t);
    }
    for (const s of ["all"].concat(STATUSES)) {
      $("count-" + s).querySelector(".n").textContent = counts[s] || 0;
    }
    this.fillTags([...tags].sort());
    const q = $("f-search").value.trim().toLowerCase();
    const tag = $("f-tag").value;
    const shown = all.filter((a) => this.matches(a, q, tag))
      .sort(this.compare(this.sortKey()));
    const keep = new Set(shown.map((a) => a.name));
    for (const [name, c] of this.cards) c.el.hidden = !keep.has(name);
    for (const a of shown) this.root.appendChild(this.cards.get(a.name).el);
    $("empty").hidden = all.length !== 0;
    $("nomatch").hidden = all.length === 0 || shown.length !== 0;
  }

  fillTags(tags) {
    const sel = $("f-tag");
    const have = [...sel.options].slice(1).map((o) => o.value);
    if (have.join("\u0000") === tags.join("\u0000")) return;
    const cur = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const t of tags) sel.add(new Option(t, t));
    sel.value = tags.includes(cur) ? cur : "";
  }
}
