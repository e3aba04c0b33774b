// charts.js - time charts with uPlot (installed from npm by the build and
// served by the hub from /vendor/; no CDN).  Two kinds: percentages
// (CPU, memory, disk) on a 0-100 axis, and network rates in bytes/s.
"use strict";

import { bytes } from "./dom.js";

const COLORS = { cpu: "#2563eb", mem: "#9333ea", disk: "#d97706",
  rx: "#059669", tx: "#dc2626" };
const LABELS = { cpu: "CPU %", mem: "Memory %", disk: "Disk %",
  rx: "Received", tx: "Sent" };

function fmtRate(v) {
  return v === null || v === undefined ? "–" : bytes(v) + "/s";
}

function fmtPct(v) {
  return v === null || v === undefined ? "–" : v.toFixed(1) + "%";
}

export class Chart {
  // keys: ["cpu","mem","disk"] or ["rx","tx"]; span: seconds shown, up
  // to now
  constructor(container, title, keys, span) {
    this.keys = keys;
    this.span = span;
    this.container = container;
    const percent = keys[0] !== "rx";
    const fmt = percent ? fmtPct : fmtRate;
    const opts = {
      title,
      width: Math.max(200, container.clientWidth || 300),
      height: 180,
      cursor: { drag: { x: false, y: false } },
      scales: Object.assign({ x: { time: true, range: () => this.window() } },
        { y: percent ? { range: [0, 100] } :
          { range: (u, min, max) => [0, Math.max(1024, (max || 0) * 1.15)] } }),
      series: [{}].concat(keys.map((k) => ({
        label: LABELS[k], stroke: COLORS[k], width: 1.5,
        value: (u, v) => fmt(v),
      }))),
      axes: [{}, { size: percent ? 50 : 80,
        values: (u, vals) => vals.map((v) => (percent ? v + "%" : fmtRate(v))) }],
    };
    this.u = new window.uPlot(opts, this.empty(), container);
    this.ro = new ResizeObserver(() => {
      const w = container.clientWidth;
      if (w > 0) this.u.setSize({ width: w, height: 180 });
    });
    this.ro.observe(container);
  }

  window() {
    const now = Date.now() / 1000;
    return [now - this.span, now];
  }

  setSpan(span) {
    this.span = span;
  }

  empty() {
    return [[]].concat(this.keys.map(() => []));
  }

  // points: [{ts, cpu, mem, disk, rx, tx}] in time order
  set(points) {
    const d = this.empty();
    for (const p of points) {
      d[0].push(p.ts);
      this.keys.forEach((k, i) => d[i + 1].push(p[k] === undefined ? null : p[k]));
    }
    this.u.setData(d);
  }

  destroy() {
    this.ro.disconnect();
    this.u.destroy();
  }
}
