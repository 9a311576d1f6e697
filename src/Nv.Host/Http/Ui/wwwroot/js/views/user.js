// One user's entries over time (GET /v1/audit/users/{id}/activity): a histogram and the entries, newest first.
import { enc, get, query as qs } from '../api.js';
import { toMillis } from '../canonical.js';
import { h, message, put } from '../dom.js';
import { barChart } from '../chart.js';
import { entryTable } from '../entries.js';

const STEPS = [60e3, 5 * 60e3, 15 * 60e3, 3600e3, 6 * 3600e3, 86400e3, 7 * 86400e3, 30 * 86400e3];

function buckets(entries) {
  const times = entries.map((e) => toMillis(e.timestamp));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const step = STEPS.find((s) => (hi - lo) / s <= 48) ?? STEPS[STEPS.length - 1];
  const start = Math.floor(lo / step) * step;
  const n = Math.floor((hi - start) / step) + 1;
  const out = Array.from({ length: n }, (_, k) => {
    const t = new Date(start + k * step).toISOString();
    return { start: start + k * step, count: 0, label: step >= 86400e3 ? t.slice(0, 10) : t.slice(0, 16).replace('T', ' ') };
  });
  for (const t of times) out[Math.floor((t - start) / step)].count++;
  return out;
}

export function userView(main, { params }) {
  const entries = [];
  const chart = h('div', { class: 'activity-chart' });
  const table = h('section', { dataset: { testid: 'activity' } }, message('info', 'Loading…'));
  const more = h('div', { class: 'pager' });
  main.append(h('h1', {}, h('span', { class: 'muted', text: 'User ' }), params.userId), chart, table, more);

  async function load(cursor) {
    try {
      const page = await get(`/v1/audit/users/${enc(params.userId)}/activity${qs({ limit: 200, cursor })}`);
      entries.push(...page.entries);
      put(table, h('p', { class: 'muted', text: `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} loaded, newest first.` }), entryTable(entries));
      put(chart, entries.length ? barChart({ title: 'Entries over time (loaded so far)', buckets: buckets(entries), testid: 'activity-chart' }) : '');
      put(more, page.nextCursor
        ? h('button', { type: 'button', dataset: { testid: 'load-more' }, on: { click: () => load(page.nextCursor) }, text: 'Load older entries' })
        : '');
    } catch (e) {
      put(table, message('error', e.message));
    }
  }
  load(null);
}
