// Every entry of one request id (GET /v1/audit/requests/{id}), oldest first.
import { enc, get } from '../api.js';
import { h, message, put } from '../dom.js';
import { entryCard } from '../entries.js';

export function requestView(main, { params }) {
  const list = h('section', { class: 'timeline', dataset: { testid: 'request-entries' } }, message('info', 'Loading…'));
  main.append(h('h1', {}, 'Request ', h('code', { text: params.requestId })), list);
  get(`/v1/audit/requests/${enc(params.requestId)}?limit=1000`).then((page) => {
    put(list, 
      h('p', { class: 'muted', text: page.entries.length === 1 ? 'One entry carries this request id.' : `${page.entries.length} entries carry this request id.` }),
      ...page.entries.map((e) => entryCard(e, { showEntity: true })));
  }).catch((e) => put(list, message(e.status === 404 ? 'info' : 'error', e.message)));
}
