// Small SVG charts drawn with DOM calls (no library, no markup strings): lines over time and a histogram.
import { h, svg } from './dom.js';

const W = 640;
const H = 150;
const PAD = { left: 56, right: 12, top: 10, bottom: 22 };

const fmt = (v) => (Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)).replace(/\.0+$|(\.\d*?)0+$/, '$1');
const clock = (ms) => new Date(ms).toISOString().slice(11, 19);

/** Lines over time. series: [{ label, cls, points: [{ t (ms), v }] }]. */
export function lineChart({ title, unit, series, testid }) {
  const all = series.flatMap((s) => s.points);
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t));
  const vmax = Math.max(1, ...all.map((p) => p.v)) * 1.1;
  const x = (t) => PAD.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right) : 0);
  const y = (v) => H - PAD.bottom - (v / vmax) * (H - PAD.top - PAD.bottom);
  const grid = [0, vmax / 2, vmax].map((v) => [
    svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'gridline' }),
    svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(v)),
  ]);
  const lines = series.map((s) => (s.points.length > 1
    ? svg('polyline', { points: s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' '), class: 'line ' + s.cls })
    : s.points.map((p) => svg('circle', { cx: x(p.t), cy: y(p.v), r: 3, class: 'dot ' + s.cls }))));
  const times = all.length ? [
    svg('text', { x: PAD.left, y: H - 6, class: 'tick' }, clock(t0)),
    svg('text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end', class: 'tick' }, clock(t1)),
  ] : [];
  return h('figure', { class: 'chart', dataset: { testid } },
    h('figcaption', {}, h('strong', { text: title }), ' ', h('span', { class: 'muted', text: unit }),
      series.map((s) => h('span', { class: 'legend ' + s.cls, text: s.label + (s.points.length ? ` ${fmt(s.points[s.points.length - 1].v)}` : '') }))),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img', 'aria-label': title }, grid, lines, times));
}

/** A histogram: buckets [{ start (ms), count, label }]. */
export function barChart({ title, buckets, testid }) {
  const W = 1000; // full-width chart: a wider drawing keeps its text at the size of the others
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const bw = Math.min(48, (W - PAD.left - PAD.right) / Math.max(1, buckets.length));
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return h('figure', { class: 'chart', dataset: { testid } },
    h('figcaption', {}, h('strong', { text: title })),
    svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'plot', role: 'img', 'aria-label': title },
      [0, max].map((v) => [
        svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'gridline' }),
        svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)),
      ]),
      buckets.map((b, k) => svg('rect', {
        x: PAD.left + k * bw + 1, y: y(b.count), width: Math.max(1, bw - 2), height: H - PAD.bottom - y(b.count), class: 'bar',
      }, svg('title', {}, `${b.label}: ${b.count}`))),
      buckets.length ? [
        svg('text', { x: PAD.left, y: H - 6, class: 'tick' }, buckets[0].label),
        buckets.length > 1
          ? svg('text', { x: PAD.left + buckets.length * bw, y: H - 6, 'text-anchor': 'end', class: 'tick' }, buckets[buckets.length - 1].label)
          : null,
      ] : []));
}
