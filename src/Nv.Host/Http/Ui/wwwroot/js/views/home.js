// Start page: jump to an entity's timeline, a user's activity, a request or an entry.
import { h, message, route, seg } from '../dom.js';

function jump(title, fields, target, testid) {
  const inputs = fields.map((f) => h('input', { name: f.name, placeholder: f.placeholder, required: true, dataset: { testid: `${testid}-${f.name}` } }));
  return h('form', {
    class: 'card jump', dataset: { testid },
    on: {
      submit: (ev) => {
        ev.preventDefault();
        location.hash = target(...inputs.map((i) => i.value.trim()));
      },
    },
  },
  h('h2', { text: title }),
  inputs.map((input, k) => h('label', {}, h('span', { text: fields[k].label }), input)),
  h('button', { type: 'submit', text: 'Open' }));
}

export function home(main, { has }) {
  main.append(h('h1', { text: 'Audit explorer' }));
  if (!has('auditor') && !has('operator')) {
    main.append(message('info', 'This key has neither role auditor nor operator, so there is nothing to show here. ',
      h('a', { href: '#/key', text: 'Use another key' }), '.'));
    return;
  }
  if (has('auditor')) {
    main.append(h('p', { class: 'lead' }, 'Read the history of an entity, a user or a request, search the trail, and check any entry\'s inclusion in the signed log ',
      h('strong', { text: 'in this browser' }), '. ', h('a', { href: '#/search', text: 'Search the trail' }), '.'));
    main.append(h('div', { class: 'grid' },
      jump('Entity timeline', [{ name: 'dtoType', label: 'type', placeholder: 'Order' }, { name: 'entityId', label: 'id', placeholder: 'o-1' }],
        (t, id) => route('/entity/' + seg(t) + '/' + seg(id)), 'jump-entity'),
      jump('User activity', [{ name: 'userId', label: 'user', placeholder: 'billing' }], (u) => route('/user/' + seg(u)), 'jump-user'),
      jump('Request', [{ name: 'requestId', label: 'request id', placeholder: '7f3c' }], (r) => route('/request/' + seg(r)), 'jump-request'),
      jump('Entry', [{ name: 'id', label: 'entry id', placeholder: '01890a5d-ac96-774b-bcce-b302099a8057' }], (id) => route('/entry/' + seg(id)), 'jump-entry')));
  }
  if (has('operator')) {
    main.append(h('p', {}, h('a', { href: '#/ops', class: 'button', text: 'Operations view' }), ' WAL positions, lags, chains and checkpoints, live.'));
  }
}
