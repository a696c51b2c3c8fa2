// A small SVG line chart of message rates over time: one line per series, a y axis scaled to the
// largest value shown, and a legend with each series' latest value.
import { h, s } from './dom.js';

const W = 640;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 22 };

/**
 * rateChart(points, series): points are `{t, [key]: rate}` (t in ms), series `[{key, label, color}]`.
 * Keeps at most the given points; draws nothing but axes until two points exist.
 */
export function rateChart(points, series, id) {
  const max = niceMax(Math.max(1, ...points.flatMap((p) => series.map((sr) => p[sr.key] || 0))));
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length ? points[points.length - 1].t : 1;
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1].map((f) => [
    s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), class: 'grid' }),
    s('text', { x: PAD.left - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, `${trim(max * f)}/s`),
  ]);
  const lines =
    points.length < 2
      ? []
      : series.map((sr) =>
          s('polyline', {
            points: points.map((p) => `${x(p.t).toFixed(1)},${y(p[sr.key] || 0).toFixed(1)}`).join(' '),
            stroke: sr.color,
            class: 'series',
            'data-series': sr.key,
          }),
        );
  const span = points.length > 1 ? `last ${Math.round((t1 - t0) / 1000)} s` : 'collecting…';
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': 'Message rates' },
    grid,
    lines,
    s('text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end', class: 'axis' }, span),
  );
  const last = points[points.length - 1] || {};
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((sr) =>
      h('li', {}, h('span', { class: 'swatch' }), `${sr.label} `, h('b', { id: `rate-${sr.key}` }, `${(last[sr.key] || 0).toFixed(1)}/s`)),
    ),
  );
  for (const [i, sw] of [...legend.querySelectorAll('.swatch')].entries()) sw.style.background = series[i].color;
  return h('div', { class: 'chart-box', id }, svg, legend);
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

const trim = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(0) : v.toFixed(1));
