// charts.js - time charts with uPlot (installed from npm by the build and
// served by the hub from /vendor/; no CDN).  Three kinds: percentages
// (CPU, memory, disk, GPU util and memory) on a 0-100 axis, network rates
// in bytes/s, and temperatures (hottest GPU, hottest CPU sensor) in °C.
// Times are 24-hour, as everywhere else on the dashboard (uPlot's own
// defaults are 12-hour).  The legend shows the values under the cursor,
// and the latest ones while the cursor is elsewhere (uPlot shows "--").
"use strict";

import { bytes } from "./dom.js";

const COLORS = { cpu: "#2563eb", mem: "#9333ea", disk: "#d97706",
  rx: "#059669", tx: "#dc2626", gpu_util: "#0891b2", gpu_mem: "#c026d3",
  gpu_temp: "#ea580c", cpu_temp: "#2563eb" };
const LABELS = { cpu: "CPU %", mem: "Memory %", disk: "Disk %",
  rx: "Received", tx: "Sent", gpu_util: "GPU %", gpu_mem: "GPU memory %",
  gpu_temp: "GPU °C", cpu_temp: "CPU °C" };

function fmtRate(v) {
  return v === null || v === undefined ? "–" : bytes(v) + "/s";
}

function fmtPct(v) {
  return v === null || v === undefined ? "–" : v.toFixed(1) + "%";
}

function fmtTemp(v) {
  return v === null || v === undefined ? "–" : v.toFixed(1) + "°C";
}

// How each kind of chart shows its values and scales its y axis.
const KINDS = {
  pct: { fmt: fmtPct, tick: (v) => v + "%", size: 50, range: [0, 100] },
  rate: { fmt: fmtRate, tick: fmtRate, size: 80,
    range: (u, min, max) => [0, Math.max(1024, (max || 0) * 1.15)] },
  temp: { fmt: fmtTemp, tick: (v) => v + "°C", size: 55,
    range: (u, min, max) => [0, Math.max(100, (max || 0) * 1.1)] },
};

// uPlot's time axis formats, 24-hour: [tick step, label, label when the
// year / month / day / hour / minute / second rolls over, 1 = append]
const NL_DAY = "\n{MMM} {D}", NL_YEAR = "\n{YYYY}-{MM}-{DD}";
const AXIS_24H = [
  [86400 * 365, "{YYYY}", null, null, null, null, null, null, 1],
  [86400 * 28, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
  [86400, "{MMM} {D}", "\n{YYYY}", null, null, null, null, null, 1],
  [3600, "{HH}:{mm}", NL_YEAR, null, NL_DAY, null, null, null, 1],
  [60, "{HH}:{mm}", NL_YEAR, null, NL_DAY, null, null, null, 1],
  [1, "{HH}:{mm}:{ss}", NL_YEAR, null, NL_DAY, null, null, null, 1],
];
const stamp = (tpl) => window.uPlot.fmtDate(tpl);

export class Chart {
  // keys: ["cpu","mem","disk"], ["rx","tx"], ["gpu_util","gpu_mem"] or
  // ["gpu_temp","cpu_temp"]; span: seconds shown, up to now
  constructor(container, title, keys, span) {
    this.keys = keys;
    this.span = span;
    this.container = container;
    const kind = KINDS[keys[0] === "rx" ? "rate" : keys[0].endsWith("_temp") ? "temp" : "pct"];
    const fmt = kind.fmt;
    const when = stamp(span > 86400 ? "{MMM} {D} {HH}:{mm}" : "{HH}:{mm}:{ss}");
    this.latest = null;        // index of the newest point with a value
    const opts = {
      title,
      width: Math.max(200, container.clientWidth || 300),
      height: 180,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true, range: () => this.window() }, y: { range: kind.range } },
      series: [{ value: (u, v) => (v === null || v === undefined ? "–" : when(new Date(v * 1000))) }]
        .concat(keys.map((k) => ({
          label: LABELS[k], stroke: COLORS[k], width: 1.5,
          value: (u, v) => fmt(v),
        }))),
      axes: [{ values: AXIS_24H }, { size: kind.size,
        values: (u, vals) => vals.map(kind.tick) }],
      // the cursor left the chart (or new data came): the latest values
      hooks: { setLegend: [(u) => this.legendLatest(u)] },
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

  // While the cursor is off the chart, the legend shows the newest point.
  legendLatest(u, again) {
    if (this.latest === null || u.cursor.left >= 0) return;
    if (!again && u.legend.idxs.every((i) => i === this.latest)) return;
    u.setLegend({ idx: this.latest });
  }

  // points: [{ts, cpu, mem, disk, rx, tx}] in time order
  set(points) {
    const d = this.empty();
    this.latest = null;
    for (const p of points) {
      d[0].push(p.ts);
      this.keys.forEach((k, i) => d[i + 1].push(p[k] === undefined ? null : p[k]));
      if (this.keys.some((k) => p[k] !== undefined && p[k] !== null)) this.latest = d[0].length - 1;
    }
    this.u.setData(d);
    this.legendLatest(this.u, true);     // the same index may hold new values
  }

  destroy() {
    this.ro.disconnect();
    this.u.destroy();
  }
}
