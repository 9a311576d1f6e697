// Search: the API's filters (GET /v1/audit/entries), cursor paging, results as a table; a row opens its entry.
import { get, query as qs } from '../api.js';
import { h, message, route, put } from '../dom.js';
import { entryTable } from '../entries.js';

const CATEGORIES = ['entity-mutation', 'authentication', 'permission', 'system-events', 'service-start-stop', 'environment-change'];
const TEXT = [
  ['service', 'service'], ['operation', 'operation'], ['dtoType', 'entity type'], ['entityId', 'entity id'],
  ['userId', 'user'], ['requestId', 'request id'],
];
const FILTERS = ['service', 'category', 'operation', 'dtoType', 'entityId', 'userId', 'requestId', 'from', 'to', 'order', 'limit'];

export function search(main, { query }) {
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query[f] ?? '']));
  const field = (name, label, input) => h('label', {}, h('span', { text: label }), input);
  const text = (name, placeholder = '') => h('input', { name, value: filters[name], placeholder, dataset: { testid: 'filter-' + name } });
  const category = h('select', { name: 'category', dataset: { testid: 'filter-category' } },
    h('option', { value: '', text: 'any' }), CATEGORIES.map((c) => h('option', { value: c, selected: filters.category === c, text: c })));
  const order = h('select', { name: 'order', dataset: { testid: 'filter-order' } },
    h('option', { value: 'desc', selected: filters.order !== 'asc', text: 'newest first' }),
    h('option', { value: 'asc', selected: filters.order === 'asc', text: 'oldest first' }));
  const limit = h('input', { name: 'limit', type: 'number', min: 1, max: 1000, value: filters.limit || 50, dataset: { testid: 'filter-limit' } });
  const form = h('form', {
    class: 'card filters', dataset: { testid: 'search-form' },
    on: {
      submit: (ev) => {
        ev.preventDefault();
        const values = Object.fromEntries(new FormData(form).entries());
        for (const k of Object.keys(values)) values[k] = String(values[k]).trim();
        if (values.order === 'desc') delete values.order;
        location.hash = route('/search', values);
      },
    },
  },
  h('div', { class: 'fields' },
    TEXT.map(([name, label]) => field(name, label, text(name))),
    field('category', 'category', category),
    field('from', 'from (inclusive)', text('from', '2026-01-31T12:00:00Z')),
    field('to', 'to (exclusive)', text('to', '2026-02-01T00:00:00Z')),
    field('order', 'order', order),
    field('limit', 'per page', limit)),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', dataset: { testid: 'search-submit' }, text: 'Search' }),
    h('a', { href: '#/search', class: 'button secondary', text: 'Clear' })));

  const results = h('section', { class: 'results', dataset: { testid: 'search-results' } }, message('info', 'Searching…'));
  main.append(h('h1', { text: 'Search the audit trail' }), form, results);

  const params = { ...filters, limit: filters.limit || 50, cursor: query.cursor };
  get('/v1/audit/entries' + qs(params)).then((page) => {
    const pager = h('nav', { class: 'pager' },
      query.cursor ? h('a', { href: route('/search', filters), class: 'button secondary', text: '⇤ First page' }) : null,
      page.nextCursor ? h('a', { href: route('/search', { ...filters, cursor: page.nextCursor }), class: 'button', dataset: { testid: 'next-page' }, text: 'Next page →' }) : null);
    put(results, 
      h('p', { class: 'muted', text: `${page.entries.length} entr${page.entries.length === 1 ? 'y' : 'ies'} on this page${page.nextCursor ? ', more on the next' : ''}.` }),
      entryTable(page.entries), pager);
  }).catch((e) => put(results, message('error', e.message)));
}
