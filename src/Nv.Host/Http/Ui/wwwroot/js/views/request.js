// Every entry of one request id (GET /v1/audit/requests/{id}), oldest first, a page at a time (pages end at the server's
// byte budget, Nv:Http:MaxAuditPageBytes, however many entries they could hold).
import { enc, get, query as qs } from '../api.js';
import { h, message, put } from '../dom.js';
import { entryCard } from '../entries.js';

export function requestView(main, { params }) {
  const entries = [];
  const list = h('section', { class: 'timeline', dataset: { testid: 'request-entries' } }, message('info', 'Loading…'));
  const more = h('div', { class: 'pager' });
  main.append(h('h1', {}, 'Request ', h('code', { text: params.requestId })), list, more);

  async function load(cursor) {
    try {
      const page = await get(`/v1/audit/requests/${enc(params.requestId)}${qs({ limit: 1000, cursor })}`);
      entries.push(...page.entries);
      const n = entries.length;
      const text = page.nextCursor ? `${n} entr${n === 1 ? 'y' : 'ies'} loaded; more follow.`
        : n === 1 ? 'One entry carries this request id.' : `${n} entries carry this request id.`;
      put(list,
        h('p', { class: 'muted', text }),
        ...entries.map((e) => entryCard(e, { showEntity: true })));
      put(more, page.nextCursor
        ? h('button', { type: 'button', dataset: { testid: 'load-more' }, on: { click: () => load(page.nextCursor) }, text: 'Load more entries' })
        : '');
    } catch (e) {
      put(list, message(e.status === 404 ? 'info' : 'error', e.message));
    }
  }
  load(null);
}
