// An entity's timeline: every change newest first with its diffs (GET …/history), and its state as of any moment
// (GET …/as-of?at=), chosen by typing a time, dragging the slider, clicking a change's marker or a change's button.
import { enc, get, query as qs } from '../api.js';
import { canonicalTimestamp, toMillis } from '../canonical.js';
import { clear, h, jsonBlock, message, route, seg, svg, time, put } from '../dom.js';
import { entryCard, requestLink } from '../entries.js';

export function timeline(main, { params, query }) {
  const { dtoType, entityId } = params;
  const base = `/v1/audit/entities/${enc(dtoType)}/${enc(entityId)}`;
  const here = '/entity/' + seg(dtoType) + '/' + seg(entityId);
  const entries = [];
  let nextCursor = null;

  const input = h('input', { name: 'at', class: 'time-input', dataset: { testid: 'asof-input' }, placeholder: '2026-01-31T12:00:00Z', value: query.at ?? '' });
  const slider = h('input', { type: 'range', class: 'slider', dataset: { testid: 'asof-slider' }, min: 0, max: 1, step: 1, value: 1, disabled: true, 'aria-label': 'time' });
  const markers = h('div', { class: 'markers' });
  const state = h('div', { class: 'asof-state', dataset: { testid: 'asof-state' } },
    h('p', { class: 'muted', text: 'Pick a moment to see the entity as it was then.' }));
  const list = h('section', { class: 'timeline', dataset: { testid: 'timeline' } }, message('info', 'Loading the history…'));
  const more = h('div', { class: 'pager' });

  const form = h('form', {
    class: 'asof-form',
    on: { submit: (ev) => { ev.preventDefault(); showAsOf(input.value.trim()); } },
  },
  h('label', { for: 'asof-at' }, h('span', { text: 'State as of' })), input,
  h('button', { type: 'submit', dataset: { testid: 'asof-go' }, text: 'Show' }),
  h('button', { type: 'button', class: 'secondary', on: { click: () => showAsOf(new Date().toISOString()) }, text: 'Now' }));
  input.id = 'asof-at';

  main.append(
    h('h1', {}, h('span', { class: 'muted', text: dtoType + ' / ' }), entityId),
    h('p', { class: 'sub' }, h('a', { href: route('/search', { dtoType, entityId }), text: 'All entries of this entity in search' })),
    h('section', { class: 'card asof' }, h('h2', { text: 'Time travel' }), form, slider, markers, state),
    h('h2', { text: 'Changes, newest first' }),
    list, more);

  slider.addEventListener('input', () => { input.value = new Date(Number(slider.value)).toISOString(); });
  slider.addEventListener('change', () => showAsOf(input.value));

  function range() {
    const times = entries.map((e) => toMillis(e.timestamp));
    const first = Math.min(...times);
    const last = Math.max(...times);
    const pad = Math.max((last - first) * 0.05, 20); // a little room on each side, in proportion to the span
    return { lo: Math.floor(first - pad), hi: Math.ceil(last + pad) };
  }

  function drawMarkers() {
    clear(markers);
    if (entries.length === 0) return;
    const { lo, hi } = range();
    slider.min = String(lo);
    slider.max = String(hi);
    slider.disabled = false;
    if (!input.value) slider.value = String(hi);
    const x = (e) => ((toMillis(e.timestamp) - lo) / (hi - lo)) * 1000;
    markers.append(svg('svg', { viewBox: '0 0 1000 24', preserveAspectRatio: 'none', class: 'marker-strip', role: 'img', 'aria-label': 'changes over time' },
      svg('line', { x1: 0, y1: 12, x2: 1000, y2: 12, class: 'axis' }),
      entries.map((e) => {
        const mark = svg('rect', { x: x(e) - 3, y: 3, width: 6, height: 18, rx: 2, class: 'mark op-' + String(e.operation).replace(/[^a-z-]/g, '') },
          svg('title', {}, `${e.operation} at ${canonicalTimestamp(e.timestamp)} by ${e.userId ?? 'unknown'}`));
        mark.addEventListener('click', () => showAsOf(canonicalTimestamp(e.timestamp)));
        return mark;
      })));
    markers.append(h('div', { class: 'marker-labels' }, time(new Date(lo).toISOString()), time(new Date(hi).toISOString())));
  }

  function markSource(lsn) {
    for (const card of list.querySelectorAll('article.entry')) card.classList.toggle('asof-source', lsn != null && card.dataset.lsn === String(lsn));
  }

  async function showAsOf(at) {
    if (!at) return;
    input.value = at;
    history.replaceState(null, '', route(here, { at }));
    let ms = NaN;
    try { ms = toMillis(at); } catch { /* the API explains a bad time */ }
    if (Number.isFinite(ms) && !slider.disabled) slider.value = String(Math.min(Math.max(ms, Number(slider.min)), Number(slider.max)));
    put(state, message('info', 'Loading…'));
    state.dataset.exists = '';
    state.dataset.lsn = '';
    try {
      const s = await get(`${base}/as-of${qs({ at })}`);
      state.dataset.exists = 'true';
      state.dataset.lsn = String(s.lsn ?? '');
      put(state, 
        h('p', { class: 'asof-head' }, 'As of ', time(s.asOf), ': the state written by the ', h('strong', { text: s.operation }),
          ' at ', time(s.changedAt), s.lsn != null ? ` (lsn ${s.lsn}, ` : ' (', 'request ', requestLink(s.requestId), ').'),
        jsonBlock(s.document, { dataset: { testid: 'asof-document' } }));
      markSource(s.lsn);
    } catch (e) {
      markSource(null);
      if (e.status === 404 && e.type === 'did-not-exist') {
        state.dataset.exists = 'false';
        put(state, message('info', h('strong', { text: 'Did not exist. ' }), e.message));
      } else if (e.status === 410 && e.type === 'erased') {
        state.dataset.exists = 'erased';
        put(state, message('info', h('strong', { dataset: { testid: 'asof-erased' }, text: 'Erased. ' }), e.message));
      } else {
        put(state, message('error', e.message));
      }
    }
  }

  async function load(cursor) {
    try {
      const page = await get(`${base}/history${qs({ limit: 100, cursor })}`);
      if (!cursor) clear(list);
      entries.push(...page.entries);
      nextCursor = page.nextCursor;
      list.append(...page.entries.map((e) => entryCard(e, { onAsOf: (entry) => showAsOf(canonicalTimestamp(entry.timestamp)) })));
      if (entries.length === 0) put(list, message('info', `No change of ${dtoType} '${entityId}' is in the audit trail.`));
      list.dataset.count = String(entries.length);
      put(more, nextCursor
        ? h('button', { type: 'button', dataset: { testid: 'load-older' }, on: { click: () => load(nextCursor) }, text: 'Load older changes' })
        : h('p', { class: 'muted', text: entries.length ? `${entries.length} change${entries.length === 1 ? '' : 's'}, back to the first.` : '' }));
      drawMarkers();
      list.dataset.loaded = 'true';
    } catch (e) {
      put(list, message('error', e.message));
    }
  }

  load(null).then(() => { if (query.at) showAsOf(query.at); });
}
