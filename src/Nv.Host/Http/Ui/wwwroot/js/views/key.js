// The API key: typed once, kept in this tab's sessionStorage, checked with GET /v1/me.
import { ApiError, get, session } from '../api.js';
import { h, message, put } from '../dom.js';

export function keyView(main, { query, me, onSession }) {
  const status = h('div', { dataset: { testid: 'key-status' } });
  const input = h('input', {
    type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off', spellcheck: 'false', dataset: { testid: 'key-input' },
    placeholder: 'the secret of an API key with role auditor or operator',
  });
  const form = h('form', {
    class: 'card narrow', dataset: { testid: 'key-form' },
    on: {
      submit: async (ev) => {
        ev.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        put(status, message('info', 'Checking the key…'));
        try {
          const who = await get('/v1/me', { key });
          if (!who.authenticated) {
            put(status, message('info', 'This host has authentication off: no key is needed.'));
            return;
          }
          session.key = key;
          input.value = '';
          await onSession();
          const then = typeof query.then === 'string' && query.then.startsWith('/') ? query.then : '/';
          location.hash = '#' + then;
        } catch (e) {
          put(status, message('error', e instanceof ApiError && e.status === 401 ? 'This key is not known to Nv.' : 'Nv refused: ' + e.message));
        }
      },
    },
  },
  h('label', { for: 'api-key', text: 'API key' }),
  input,
  h('button', { type: 'submit', dataset: { testid: 'key-submit' }, text: 'Use this key' }),
  h('p', { class: 'muted small', text: 'The key stays in this browser tab (sessionStorage) until the tab is closed or you choose "Forget key". '
    + 'It is sent only to this Nv host, in the Authorization header.' }));

  main.append(h('h1', { text: 'API key' }));
  if (!me.keysRequired) {
    main.append(message('info', 'Authentication is off on this host (no API keys configured, loopback only): every view is open without a key.'));
  } else if (me.authenticated) {
    main.append(message('info', `Using the key of ${me.user} (roles: ${me.roles.join(', ') || 'none'}). Enter another key to switch.`));
  } else {
    main.append(message('info', 'This host needs an API key. Audit views need role auditor, the operations view role operator.'));
  }
  main.append(form, status);
  if (session.key === null) input.focus();
}
