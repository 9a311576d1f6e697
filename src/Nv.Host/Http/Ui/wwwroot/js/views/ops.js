// Operations: GET /v1/ops/status every few seconds; WAL positions and lags, chains and checkpoints, and charts of the
// write rate (LSNs appended per second between two readings) and the apply and audit lags.
import { get } from '../api.js';
import { toMillis } from '../canonical.js';
import { h, message, time, put } from '../dom.js';
import { lineChart } from '../chart.js';

const EVERY_MS = 2000;
const KEEP = 90; // three minutes of readings

const bytes = (n) => (n >= 1 << 30 ? (n / (1 << 30)).toFixed(2) + ' GiB' : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB'
  : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B');

function tile(label, value, testid, note, warn = false) {
  return h('div', { class: 'tile' + (warn ? ' warn' : ''), dataset: { testid } },
    h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }), note ? h('div', { class: 'note', text: note }) : null);
}

export function opsView(main) {
  const samples = [];
  const updated = h('p', { class: 'muted', dataset: { testid: 'ops-updated' } }, 'Waiting for the first reading…');
  const tiles = h('div', { class: 'tiles', dataset: { testid: 'ops-tiles' } });
  const chains = h('div', {});
  const charts = h('div', { class: 'grid two' });
  const error = h('div', {});
  main.append(h('h1', { text: 'Operations' }), updated, error, tiles, h('h2', { text: 'Audit chains' }), chains, h('h2', { text: 'Write rate and lag' }), charts);

  let stopped = false;
  let timer = null;

  function draw(s) {
    const w = s.wal;
    put(tiles, 
      tile('WAL state', w.state + (s.ready ? '' : ' · not ready'), 'ops-state', `${w.segments} segment${w.segments === 1 ? '' : 's'}, ${bytes(w.sizeBytes)}`,
        w.state !== 'open' || !s.ready),
      tile('LSN range', `${w.firstLsn} – ${w.lastLsn}`, 'ops-lsn-range', 'first held – last appended'),
      tile('durable', String(w.durableLsn), 'ops-durable', 'fsynced through'),
      tile('applied', String(s.applied), 'ops-applied', `lag ${s.applyLag} (durable − applied); store durable through ${w.appliedLsn}`, s.applyLag > 0),
      tile('audited', String(s.audited), 'ops-audited', `lag ${s.auditLag} (applied − audited); store durable through ${w.auditedLsn}`, s.auditLag > 0),
      tile('unresolved', w.unresolved == null ? 'unknown' : String(w.unresolved), 'ops-unresolved',
        w.unresolved == null ? 'the database does not answer' : 'durable, not yet in the database', w.unresolved == null));
    put(chains, h('table', { class: 'entries', dataset: { testid: 'ops-chains' } },
      h('thead', {}, h('tr', {}, ['chain', 'entries', 'last checkpoint', 'signed', 'key', 'since then'].map((t) => h('th', { text: t })))),
      h('tbody', {}, s.chains.map((c) => h('tr', { dataset: { chain: c.chain } },
        h('td', {}, h('code', { text: c.chain })),
        h('td', { class: 'num', dataset: { testid: 'chain-size' }, text: c.size ?? '?' }),
        h('td', { class: 'num', text: c.lastCheckpoint ? c.lastCheckpoint.size : '—' }),
        h('td', {}, c.lastCheckpoint ? time(c.lastCheckpoint.time) : h('span', { class: 'muted', text: c.error ?? 'none yet' })),
        h('td', {}, c.lastCheckpoint ? h('code', { text: c.lastCheckpoint.keyId }) : ''),
        h('td', { class: 'num', text: c.uncheckpointedEntries ?? '' }))))));
    const rate = [];
    for (let k = 1; k < samples.length; k++) {
      const dt = (samples[k].t - samples[k - 1].t) / 1000;
      if (dt > 0) rate.push({ t: samples[k].t, v: Math.max(0, samples[k].lastLsn - samples[k - 1].lastLsn) / dt });
    }
    put(charts, 
      lineChart({ title: 'Write rate', unit: 'records/s', testid: 'chart-rate', series: [{ label: 'appended', cls: 's1', points: rate }] }),
      lineChart({
        title: 'Lag', unit: 'records', testid: 'chart-lag', series: [
          { label: 'apply', cls: 's2', points: samples.map((p) => ({ t: p.t, v: p.applyLag })) },
          { label: 'audit', cls: 's3', points: samples.map((p) => ({ t: p.t, v: p.auditLag })) },
        ],
      }));
    put(updated, 'Read ', time(s.time), ` · refreshed every ${EVERY_MS / 1000} s · ${samples.length} reading${samples.length === 1 ? '' : 's'} kept`);
    updated.dataset.readings = String(samples.length);
  }

  async function poll() {
    try {
      const s = await get('/v1/ops/status');
      if (stopped) return;
      samples.push({ t: toMillis(s.time), lastLsn: s.wal.lastLsn, applyLag: s.applyLag, auditLag: s.auditLag });
      if (samples.length > KEEP) samples.shift();
      put(error);
      draw(s);
    } catch (e) {
      if (stopped) return;
      put(error, message('error', 'The last reading failed: ' + e.message));
    }
    if (!stopped) timer = setTimeout(poll, EVERY_MS);
  }
  poll();

  return () => { stopped = true; clearTimeout(timer); };
}
