// One entry: every field, its diff, before and after, and the proof check run in this browser (see proof.js).
import { enc, get } from '../api.js';
import { h, jsonBlock, message, time, put } from '../dom.js';
import { diffTable, entityLink, metadataList, requestLink, userLink } from '../entries.js';
import { importPublicKey, keyIdOf, pemToSpki } from '../checkpoint.js';
import { checkProof } from '../proof.js';

const PINNED = 'nv.pinnedPublicKey';

function row(label, ...value) {
  return [h('dt', { text: label }), h('dd', {}, ...value)];
}

export function entryView(main, { params }) {
  const id = params.id;
  const body = h('div', {}, message('info', 'Loading…'));
  main.append(h('h1', { text: 'Audit entry' }), body);
  get(`/v1/audit/entries/${enc(id)}`).then((entry) => {
    put(body, 
      h('dl', { class: 'fields card', dataset: { testid: 'entry-fields' } },
        row('id', h('code', { text: entry.id })),
        row('time', time(entry.timestamp)),
        row('chain', h('code', { text: entry.service }), ` #${entry.sequence}`),
        row('category', entry.category),
        row('operation', h('strong', { text: entry.operation })),
        row('user', userLink(entry.userId)),
        row('entity', entityLink(entry.dtoType, entry.entityId)),
        row('request', requestLink(entry.requestId)),
        entry.reason != null ? row('why', h('q', { dataset: { testid: 'reason' }, text: entry.reason })) : null,
        entry.lsn != null ? row('WAL LSN', String(entry.lsn)) : null,
        row('prevHash', h('code', { class: 'hash', text: entry.prevHash })),
        row('hash', h('code', { class: 'hash', text: entry.hash }))),
      metadataList(entry.metadata),
      h('h2', { text: 'Changes' }),
      diffTable(entry),
      h('div', { class: 'grid two' },
        h('div', {}, h('h3', { text: 'Before' }), image(entry, entry.before, 'before')),
        h('div', {}, h('h3', { text: 'After' }), image(entry, entry.after, 'after'))),
      proofPanel(entry));
  }).catch((e) => put(body, message('error', e.message)));
}

// An image, or why there is none: erased (its key destroyed) or not part of this operation.
const image = (entry, json, testid) => (json != null ? jsonBlock(json, { dataset: { testid } })
  : h('p', { class: 'muted', text: entry.erased ? 'erased' : '—' }));

function proofPanel(entry) {
  const pem = h('textarea', {
    rows: 5, spellcheck: 'false', dataset: { testid: 'pin-key' }, 'aria-label': 'public key PEM',
    placeholder: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----',
  });
  pem.value = localStorage.getItem(PINNED) || '';
  const pinned = h('span', { class: 'muted', dataset: { testid: 'pinned-key-id' } });
  const verdict = h('div', { class: 'verdict', dataset: { testid: 'proof-verdict' }, role: 'status' });
  const steps = h('ol', { class: 'steps', dataset: { testid: 'proof-steps' } });
  const details = h('div', {});

  async function describePinned() {
    const text = localStorage.getItem(PINNED);
    if (!text) { pinned.textContent = 'No key pinned.'; return; }
    try {
      const spki = pemToSpki(text);
      await importPublicKey(spki);
      pinned.textContent = `Pinned: ECDSA P-256 key ${await keyIdOf(spki)}`;
    } catch (e) {
      pinned.textContent = `The pinned key cannot be used: ${e.message}`;
    }
  }

  async function pin() {
    const text = pem.value.trim();
    if (!text) { localStorage.removeItem(PINNED); await describePinned(); return; }
    try {
      await importPublicKey(pemToSpki(text));
      localStorage.setItem(PINNED, text);
      await describePinned();
      await verify();
    } catch (e) {
      pinned.textContent = `Not pinned: ${e.message}`;
    }
  }

  let runs = 0;
  async function verify() {
    const run = ++runs;
    verdict.className = 'verdict pending';
    verdict.dataset.ok = '';
    put(verdict, 'Checking in this browser…');
    put(steps);
    put(details);
    let result;
    try {
      const [leaf, proof] = await Promise.all([get(`/v1/audit/entries/${enc(entry.id)}/leaf`), get(`/v1/audit/entries/${enc(entry.id)}/proof`)]);
      result = await checkProof({
        view: entry, leaf, proof, pinnedPem: localStorage.getItem(PINNED),
        fetchConsistency: (chain, from, to) => get(`/v1/audit/chains/${enc(chain)}/consistency?from=${from}&to=${to}`),
      });
      put(details, h('details', {}, h('summary', { text: 'The signed checkpoint, as served' }),
        h('pre', { class: 'checkpoint', dataset: { testid: 'checkpoint-text' }, text: proof.checkpoint ?? '(none)' })));
    } catch (e) {
      result = { ok: false, reason: `The proof could not be fetched: ${e.message}`, steps: [] };
    }
    if (run !== runs) return; // a newer check started meanwhile and will report
    verdict.className = 'verdict ' + (result.ok ? 'ok' : 'bad');
    verdict.dataset.ok = String(result.ok);
    put(verdict, 
      h('span', { class: 'mark', 'aria-hidden': 'true', text: result.ok ? '✓' : '✗' }),
      h('div', {}, h('strong', { text: result.ok ? 'Verified in this browser' : 'Not verified' }), h('p', { dataset: { testid: 'proof-reason' }, text: result.reason })));
    put(steps, ...result.steps.map((s) => h('li', { class: s.ok ? 'ok' : 'bad' },
      h('span', { class: 'mark', text: s.ok ? '✓' : '✗' }), h('strong', { text: s.name }), ' ', h('span', { text: s.detail }))));
  }

  describePinned();
  if (localStorage.getItem(PINNED)) verify();
  return h('section', { class: 'card proof', dataset: { testid: 'proof' } },
    h('h2', { text: 'Proof check, in this browser' }),
    h('p', { class: 'muted', text: 'The page rebuilds this entry\'s canonical bytes, hashes them into its chain hash and Merkle leaf (SHA-256, RFC 9162), '
      + 'walks the inclusion path to a root, and checks that root against a checkpoint whose ECDSA P-256 signature verifies with the public key '
      + 'you pin here (WebCrypto). The server only supplies data; its own verdict is not used. Pin the key you were given out of band '
      + '(Nv writes it to audit-signing-key.pub.pem in its data directory), not one copied from the server you are checking.' }),
    h('label', { text: 'Pinned public key (PEM), kept in this browser\'s localStorage' }),
    pem,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', dataset: { testid: 'pin' }, on: { click: pin }, text: 'Pin key' }),
      h('button', { type: 'button', dataset: { testid: 'verify' }, on: { click: verify }, text: 'Verify' }),
      pinned),
    verdict, steps, details);
}
