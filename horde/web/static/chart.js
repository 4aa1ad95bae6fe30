// A small line chart on a canvas: time on x, any number of series, event markers as dashed vertical lines,
// and an optional cursor (the post-mortem slider's moment). No library: a few hundred points a chart.

const PALETTE = ["#2f6fde", "#c4320a", "#12b76a", "#9e77ed", "#f79009", "#0ba5ec", "#ee46bc", "#667085"];

export class LineChart {
  constructor(canvas, { series = [], unit = "" } = {}) {
    this.canvas = canvas;
    this.series = series; // [{ key, label, color }], or empty: one series per key of `point.users`
    this.unit = unit;
    this.points = [];
    this.markers = [];
    this.cursor = null;
    this.dynamic = series.length === 0;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  set(points, markers) {
    this.points = points;
    this.markers = markers;
    this.draw();
  }

  setCursor(t) {
    this.cursor = t;
    this.draw();
  }

  seriesList() {
    if (!this.dynamic) return this.series;
    const names = new Set();
    for (const p of this.points) for (const name of Object.keys(p.users || {})) names.add(name);
    return [...names].sort().map((name, i) => ({
      key: (p) => (p.users || {})[name] || 0, label: name, color: PALETTE[i % PALETTE.length],
    }));
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "11px system-ui, sans-serif";
    const series = this.seriesList();
    const pts = this.points;
    canvas.dataset.points = String(pts.length);
    canvas.dataset.series = series.map((s) => s.label).join(",");
    const left = 48, right = 10, top = 22, bottom = 22;
    const w = width - left - right, h = height - top - bottom;
    g.strokeStyle = "#e4e7ec";
    g.fillStyle = "#667085";
    if (pts.length === 0) {
      g.fillText("waiting for data", left + 4, top + h / 2);
      return;
    }
    const value = (s, p) => (typeof s.key === "function" ? s.key(p) : p[s.key]) || 0;
    const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
    let max = 0;
    for (const p of pts) for (const s of series) max = Math.max(max, value(s, p));
    max = niceCeiling(max);
    const x = (t) => left + ((t - t0) / (t1 - t0)) * w;
    const y = (v) => top + h - (v / max) * h;
    // grid and labels
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, yy = y(v);
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + w, yy); g.stroke();
      g.fillText(formatValue(v), 2, yy + 4);
    }
    const ticks = Math.max(1, Math.min(4, Math.floor(w / 90)));
    let said = "";
    for (let i = 0; i <= ticks; i++) {
      const label = clock(t0 + ((t1 - t0) * i) / ticks);
      if (label === said) continue; // a short run: several ticks in one second
      said = label;
      const width = g.measureText(label).width;
      const at = i === 0 ? left : i === ticks ? left + w - width : left + (w * i) / ticks - width / 2;
      g.fillText(label, at, height - 6);
    }
    // markers
    g.save();
    g.setLineDash([3, 3]);
    g.strokeStyle = "#98a2b3";
    for (const m of this.markers) {
      if (m.t < t0 || m.t > t1) continue;
      g.beginPath(); g.moveTo(x(m.t), top); g.lineTo(x(m.t), top + h); g.stroke();
    }
    g.restore();
    // lines
    for (const s of series) {
      g.strokeStyle = s.color;
      g.lineWidth = 1.6;
      g.beginPath();
      pts.forEach((p, i) => (i ? g.lineTo(x(p.t), y(value(s, p))) : g.moveTo(x(p.t), y(value(s, p)))));
      g.stroke();
    }
    g.lineWidth = 1;
    // legend
    let lx = left;
    for (const s of series) {
      g.fillStyle = s.color;
      g.fillRect(lx, 6, 10, 10);
      g.fillStyle = "#1d2330";
      g.fillText(s.label, lx + 14, 15);
      lx += g.measureText(s.label).width + 28;
    }
    if (this.cursor !== null && this.cursor >= t0 && this.cursor <= t1) {
      g.strokeStyle = "#1d2330";
      g.beginPath(); g.moveTo(x(this.cursor), top); g.lineTo(x(this.cursor), top + h); g.stroke();
    }
  }
}

function niceCeiling(v) {
  if (v <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(v)));
  for (const step of [2, 4, 8, 10]) if (v <= step * power) return step * power;
  return 10 * power;
}

function formatValue(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(1);
}

export function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}
