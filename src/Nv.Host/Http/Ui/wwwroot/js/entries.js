// How audit entries look: a card with who, when, why, request and field diffs; and a table row for lists.
import { h, jsonInline, route, seg, time } from './dom.js';
import { pointerExists } from './json.js';

/** added / removed / changed, from whether the path exists in the before and after images. */
export function changeKind(entry, change) {
  const inBefore = entry.before != null ? pointerExists(entry.before, change.path) : false;
  const inAfter = entry.after != null ? pointerExists(entry.after, change.path) : false;
  if (inBefore && inAfter) return 'changed';
  if (inAfter) return 'added';
  if (inBefore) return 'removed';
  // Images missing (system entries): fall back to which side the change carries.
  return change.before == null ? 'added' : change.after == null ? 'removed' : 'changed';
}

const SYMBOL = { added: '+', removed: '−', changed: '~' };

/**
 * What an entry whose data cannot be opened shows instead of it: its images are sealed under a data key this host does
 * not hold (destroyed by an erasure, or no master key configured); the API marks it erased.
 */
export const erasedNotice = () => h('p', {
  class: 'erased', dataset: { testid: 'erased' },
  text: 'Data erased or sealed: this entry\'s before and after images are sealed under a data key this host cannot open '
    + '(destroyed by an erasure, or no master key configured). Who, when, why and the proof remain.',
});

export function diffTable(entry) {
  if (entry.erased) return erasedNotice();
  const changes = entry.changes || [];
  if (changes.length === 0) return h('p', { class: 'muted', text: 'No field changed.' });
  return h('table', { class: 'diff' },
    h('thead', {}, h('tr', {}, h('th', { text: '' }), h('th', { text: 'field' }), h('th', { text: 'before' }), h('th', { text: 'after' }))),
    h('tbody', {}, changes.map((c) => {
      const kind = changeKind(entry, c);
      return h('tr', { class: 'diff-' + kind, dataset: { testid: 'change', kind, path: c.path } },
        h('td', { class: 'kind', title: kind, text: SYMBOL[kind] }),
        h('td', { class: 'path' }, h('code', { text: c.path === '' ? '(document)' : c.path })),
        h('td', { class: 'before' }, kind === 'added' ? h('span', { class: 'none', text: '—' }) : jsonInline(c.before)),
        h('td', { class: 'after' }, kind === 'removed' ? h('span', { class: 'none', text: '—' }) : jsonInline(c.after)));
    })));
}

export const userLink = (userId) => (userId == null
  ? h('span', { class: 'muted', text: 'unknown user' })
  : h('a', { href: route('/user/' + seg(userId)), class: 'user', text: userId }));

export const requestLink = (requestId) => h('a', { href: route('/request/' + seg(requestId)), class: 'request' }, h('code', { text: requestId }));

export const entityLink = (dtoType, entityId) => (dtoType == null
  ? h('span', { text: entityId })
  : h('a', { href: route('/entity/' + seg(dtoType) + '/' + seg(entityId)), class: 'entity', text: `${dtoType} / ${entityId}` }));

export function metadataList(metadata) {
  const keys = Object.keys(metadata || {});
  if (keys.length === 0) return null;
  return h('dl', { class: 'metadata' }, keys.map((k) => [h('dt', { text: k }), h('dd', { text: metadata[k] })]));
}

/**
 * One entry as a card. options.showEntity: link to the entity (request and user views); options.onAsOf(entry): adds a
 * "state at this moment" button (timeline).
 */
export function entryCard(entry, options = {}) {
  const op = String(entry.operation);
  return h('article', { class: 'entry op-' + op.replace(/[^a-z-]/g, ''), dataset: { testid: 'entry', entryId: entry.id, op, lsn: entry.lsn ?? '' } },
    h('header', {},
      h('span', { class: 'badge', text: op }),
      time(entry.timestamp),
      h('span', { class: 'who' }, 'by ', userLink(entry.userId)),
      options.showEntity ? h('span', { class: 'what' }, entityLink(entry.dtoType, entry.entityId)) : null,
      h('span', { class: 'pos', title: 'chain sequence and WAL LSN', text: `#${entry.sequence}` + (entry.lsn != null ? ` · lsn ${entry.lsn}` : '') })),
    entry.reason != null
      ? h('p', { class: 'why' }, h('span', { class: 'label', text: 'why ' }), h('q', { dataset: { testid: 'reason' }, text: entry.reason }))
      : null,
    h('p', { class: 'req' }, h('span', { class: 'label', text: 'request ' }), requestLink(entry.requestId),
      h('span', { class: 'label', text: ' · category ' }), h('span', { text: entry.category })),
    metadataList(entry.metadata),
    diffTable(entry),
    h('footer', {},
      h('a', { href: route('/entry/' + seg(entry.id)), class: 'button', dataset: { testid: 'open-entry' }, text: 'Entry & proof' }),
      options.onAsOf ? h('button', { type: 'button', class: 'secondary', dataset: { testid: 'asof-here' }, on: { click: () => options.onAsOf(entry) }, text: 'State at this moment' }) : null));
}

/** A table of entries for search results and activity; a row opens its entry. */
export function entryTable(entries) {
  if (entries.length === 0) return h('p', { class: 'muted', dataset: { testid: 'no-results' }, text: 'No entries.' });
  return h('table', { class: 'entries' },
    h('thead', {}, h('tr', {}, ['time', 'category', 'operation', 'entity', 'user', 'request', '#'].map((t) => h('th', { text: t })))),
    h('tbody', {}, entries.map((e) => h('tr', {
      dataset: { testid: 'result', entryId: e.id },
      on: {
        click: (ev) => {
          if (ev.target.closest('a')) return;
          location.hash = route('/entry/' + seg(e.id));
        },
      },
    },
    h('td', {}, h('a', { href: route('/entry/' + seg(e.id)) }, time(e.timestamp))),
    h('td', { text: e.category }),
    h('td', { text: e.operation }),
    h('td', {}, entityLink(e.dtoType, e.entityId)),
    h('td', {}, userLink(e.userId)),
    h('td', {}, requestLink(e.requestId)),
    h('td', { class: 'num', text: e.sequence })))));
}
