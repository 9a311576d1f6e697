// The proof check, done entirely in this browser: rebuild the entry's canonical bytes from its fields, hash them into the
// chain hash and the Merkle leaf, walk the inclusion path to a root, and check that root against a checkpoint whose
// ECDSA P-256 signature verifies with the public key the user pinned. The server supplies data only (the entry, the
// path, the checkpoint text); it is never asked whether the proof holds (GET /v1/audit/verify is not called).
import {
  base64ToBytes, bytesToBase64, bytesToHex, canonicalMetadata, canonicalTimestamp, chainHashHex, encodeEntry, equalBytes, hexToBytes,
} from './canonical.js';
import { canonicalJson, canonicalTree, parseJsonTree } from './json.js';
import { leafHash, rootFromInclusion, verifyConsistency } from './merkle.js';
import { importPublicKey, keyIdOf, parseCheckpoint, pemToSpki, verifySignature } from './checkpoint.js';

const short = (hex) => (typeof hex === 'string' ? hex.slice(0, 16) + '…' : String(hex));

/** The names of the fields where the entry the page shows (GET /entries/{id}) differs from the data proven (…/leaf). */
export function compareLeafToView(leaf, view) {
  const diffs = [];
  const same = (name, a, b) => { if (a !== b) diffs.push(name); };
  const jsonOf = (v) => (v === null || v === undefined ? null : canonicalJson(v));
  const textOf = (t) => (t === null || t === undefined ? null : canonicalTree(parseJsonTree(t)));
  // The entry view writes both "absent" and a JSON null as null; the leaf keeps them apart ("null" is the JSON value).
  const sameJson = (name, viewValue, leafText) => {
    const v = jsonOf(viewValue);
    const l = textOf(leafText);
    if (!(v === l || (v === null && l === 'null'))) diffs.push(name);
  };
  same('id', view.id, leaf.id);
  try { same('timestamp', canonicalTimestamp(view.timestamp), leaf.timestamp); } catch { diffs.push('timestamp'); }
  for (const f of ['service', 'category', 'operation', 'entityId', 'requestId', 'prevHash', 'hash']) same(f, view[f], leaf[f]);
  for (const f of ['userId', 'dtoType', 'reason']) same(f, view[f] ?? null, leaf[f] ?? null);
  same('lsn', view.lsn == null ? null : String(view.lsn), leaf.lsn == null ? null : String(leaf.lsn));
  same('sequence', String(view.sequence), String(leaf.sequence));
  try { same('metadata', canonicalMetadata(view.metadata ?? {}), canonicalMetadata(leaf.metadata)); } catch { diffs.push('metadata'); }
  sameJson('before', view.before, leaf.before);
  sameJson('after', view.after, leaf.after);
  const vc = view.changes ?? [];
  if (vc.length !== leaf.changes.length) {
    diffs.push('changes');
  } else {
    vc.forEach((c, k) => {
      same(`changes[${k}].path`, c.path, leaf.changes[k].path);
      sameJson(`changes[${k}].before`, c.before, leaf.changes[k].before);
      sameJson(`changes[${k}].after`, c.after, leaf.changes[k].after);
    });
  }
  return diffs;
}

/** Checkpoints this browser accepted (signature verified), per chain and key, to check later ones for consistency. */
export const acceptedCheckpoints = {
  storageKey: 'nv.acceptedCheckpoints',
  all() {
    try { return JSON.parse(localStorage.getItem(this.storageKey) || '{}') || {}; } catch { return {}; }
  },
  get(chain, keyId) {
    const v = this.all()[chain + ' ' + keyId];
    return v && Number.isSafeInteger(v.size) && typeof v.root === 'string' ? v : null;
  },
  accept(chain, keyId, checkpoint) {
    const all = this.all();
    const id = chain + ' ' + keyId;
    if (!all[id] || all[id].size < checkpoint.size) {
      all[id] = { size: checkpoint.size, root: checkpoint.rootBase64, time: checkpoint.time };
      localStorage.setItem(this.storageKey, JSON.stringify(all));
    }
  },
};

/**
 * Checks an entry's inclusion proof and signed checkpoint. Returns { ok, reason, steps: [{ name, ok, detail }] }; ok is
 * true only when every step passed. `fetchConsistency(chain, from, to)` gets a consistency proof from the server.
 */
export async function checkProof({ view, leaf, proof, pinnedPem, fetchConsistency, remembered = acceptedCheckpoints }) {
  const steps = [];
  const pass = (name, detail) => steps.push({ name, ok: true, detail });
  const fail = (name, reason) => { steps.push({ name, ok: false, detail: reason }); return { ok: false, reason, steps }; };

  if (!globalThis.crypto?.subtle) {
    return fail('WebCrypto', 'This browser offers no WebCrypto here: open the page over HTTPS or on localhost (a secure context).');
  }
  pass('WebCrypto', "SHA-256 and ECDSA P-256 come from this browser's WebCrypto; the server's own verdict is not asked for.");

  if (!pinnedPem) return fail('Pinned key', 'No public key is pinned: paste the audit signing public key (audit-signing-key.pub.pem) above.');
  let key;
  let pinnedId;
  try {
    const spki = pemToSpki(pinnedPem);
    key = await importPublicKey(spki);
    pinnedId = await keyIdOf(spki);
  } catch (e) {
    return fail('Pinned key', `The pinned key cannot be used: ${e.message}`);
  }
  pass('Pinned key', `ECDSA P-256 public key, key id ${pinnedId}`);

  let differences;
  try { differences = compareLeafToView(leaf, view); } catch (e) { differences = [`unreadable (${e.message})`]; }
  if (differences.length > 0) {
    return fail('Same entry', `The entry this page shows differs from the data the proof covers (${differences.join(', ')}).`);
  }
  pass('Same entry', 'Every field shown above is a field of the bytes checked below.');

  let bytes;
  try { bytes = encodeEntry(leaf); } catch (e) { return fail('Canonical bytes', `The entry's fields cannot be encoded: ${e.message}`); }
  pass('Canonical bytes', `${bytes.length} bytes, encoding version ${leaf.encoding}, rebuilt in the browser from the entry's fields`);

  const chainHash = await chainHashHex(leaf.prevHash, bytes);
  if (chainHash !== leaf.hash) {
    return fail('Chain hash', `SHA-256(prevHash ‖ bytes) is ${short(chainHash)} but the entry records ${short(leaf.hash)}: `
      + 'the entry was changed after it was written.');
  }
  pass('Chain hash', `SHA-256(prevHash ‖ bytes) = ${short(chainHash)}, the hash the entry records`);

  const leafComputed = await leafHash(bytes);
  const leafHex = bytesToHex(leafComputed);
  const index = Number(leaf.sequence) - 1;
  if (proof.leafIndex !== index) return fail('Leaf hash', `The proof is for leaf ${proof.leafIndex}, but entry #${leaf.sequence} is leaf ${index}.`);
  if (leafHex !== proof.leafHash) {
    return fail('Leaf hash', `The entry's bytes hash to leaf ${short(leafHex)}, but the log holds ${short(proof.leafHash)} at index ${index}: `
      + 'the entry was changed after it was logged.');
  }
  pass('Leaf hash', `SHA-256(0x00 ‖ bytes) = ${short(leafHex)}, leaf ${index} of the log`);

  let cp;
  try { cp = parseCheckpoint(proof.checkpoint); } catch (e) { return fail('Checkpoint', `The checkpoint is malformed: ${e.message}.`); }
  if (cp.chain !== leaf.service) return fail('Checkpoint', `The checkpoint is for chain '${cp.chain}', not '${leaf.service}'.`);
  if (cp.size !== proof.treeSize) return fail('Checkpoint', `The checkpoint is for a tree of ${cp.size}, the proof for ${proof.treeSize}.`);
  pass('Checkpoint', `chain ${cp.chain}, tree size ${cp.size}, signed ${cp.time}`);

  let path;
  try { path = (proof.path || []).map(hexToBytes); } catch (e) { return fail('Inclusion path', `The path is malformed: ${e.message}.`); }
  if (path.some((h) => h.length !== 32)) return fail('Inclusion path', 'A path hash is not 32 bytes.');
  const root = await rootFromInclusion(leafComputed, index, cp.size, path);
  if (!root) return fail('Inclusion path', `A path of ${path.length} hash${path.length === 1 ? '' : 'es'} does not fit leaf ${index} of a tree of ${cp.size}.`);
  if (!equalBytes(root, cp.root)) {
    return fail('Inclusion path', `The path from the leaf leads to root ${bytesToBase64(root)}, not to the checkpoint's root ${cp.rootBase64}: `
      + 'the entry is not in the signed log.');
  }
  pass('Inclusion path', `${path.length} hash${path.length === 1 ? ' (RFC 9162) leads' : 'es (RFC 9162) lead'} from leaf ${index} to the checkpoint's root ${cp.rootBase64}`);

  if (cp.keyId !== pinnedId) return fail('Signing key', `The checkpoint names key ${cp.keyId}, not the pinned key ${pinnedId}.`);
  pass('Signing key', `The checkpoint names the pinned key ${pinnedId}`);

  let good;
  try { good = await verifySignature(key, cp.signature, cp.body); } catch (e) { return fail('Signature', `${e.message}.`); }
  if (!good) {
    return fail('Signature', "The ECDSA P-256 signature does not verify with the pinned key: the checkpoint's text was changed after it was signed.");
  }
  pass('Signature', `ECDSA P-256 / SHA-256 over the checkpoint's first six lines verifies with key ${pinnedId}`);

  const earlier = remembered.get(cp.chain, pinnedId);
  if (!earlier) {
    pass('Consistency', 'No earlier checkpoint of this chain was accepted in this browser; this one is remembered for later checks.');
  } else if (earlier.size === cp.size) {
    if (earlier.root !== cp.rootBase64) {
      return fail('Consistency', `Two signed checkpoints of size ${cp.size} name different roots (${earlier.root} accepted ${earlier.time}): the log was forked.`);
    }
    pass('Consistency', `The same checkpoint this browser accepted ${earlier.time}`);
  } else {
    const older = earlier.size < cp.size
      ? { size: earlier.size, root: base64ToBytes(earlier.root) } : { size: cp.size, root: cp.root };
    const newer = earlier.size < cp.size
      ? { size: cp.size, root: cp.root } : { size: earlier.size, root: base64ToBytes(earlier.root) };
    let consistent;
    try {
      const c = await fetchConsistency(cp.chain, older.size, newer.size);
      consistent = await verifyConsistency(older.size, newer.size, older.root, newer.root, (c.path || []).map(hexToBytes));
    } catch (e) {
      return fail('Consistency', `The consistency proof between sizes ${older.size} and ${newer.size} could not be checked: ${e.message}`);
    }
    if (!consistent) {
      return fail('Consistency', `The log of size ${newer.size} does not extend the log of size ${older.size} `
        + `(one of them accepted by this browser ${earlier.time}): history was rewritten.`);
    }
    pass('Consistency', `The log of size ${newer.size} extends the log of size ${older.size} accepted ${earlier.time} (RFC 9162 consistency proof)`);
  }
  remembered.accept(cp.chain, pinnedId, cp);

  return {
    ok: true,
    reason: `Entry #${leaf.sequence} of chain ${cp.chain} is leaf ${index} of the log of ${cp.size} entries signed ${cp.time} by key ${pinnedId}.`,
    steps,
  };
}
