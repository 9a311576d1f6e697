// Signed checkpoints (docs/audit-merkle.md §3, nv-audit-checkpoint/v1) and their ECDSA P-256 signatures, checked
// with WebCrypto against a public key the user pinned. The file's first six lines are byte for byte what was signed;
// the signature is DER (RFC 3279), while WebCrypto verifies the raw r ‖ s form, so it is converted here.
import { base64ToBytes, bytesToHex, sha256 } from './canonical.js';

const FORMAT = 'nv-audit-checkpoint/v1';
const LINES = ['chain', 'size', 'root', 'time', 'key'];

/** Parses checkpoint text strictly; throws an Error naming the line when it is not a v1 checkpoint. */
export function parseCheckpoint(text) {
  if (typeof text !== 'string') throw new Error('no checkpoint text');
  if (text.includes('\r')) throw new Error('the checkpoint contains a CR character');
  const lines = text.split('\n');
  if (lines.length === 9 && lines[8] === '') lines.pop();
  if (lines.length !== 8) throw new Error(`a checkpoint has 8 lines, this one ${lines.length}`);
  if (lines[0] !== FORMAT) throw new Error(`line 1 is not '${FORMAT}'`);
  const fields = {};
  LINES.forEach((name, k) => {
    const prefix = name + ': ';
    if (!lines[k + 1].startsWith(prefix)) throw new Error(`line ${k + 2} does not start with '${prefix}'`);
    fields[name] = lines[k + 1].slice(prefix.length);
  });
  if (lines[6] !== '') throw new Error('line 7 is not empty');
  if (!lines[7].startsWith('signature: ')) throw new Error("line 8 does not start with 'signature: '");
  if (!/^[\x21-\x7e]{1,128}$/.test(fields.chain)) throw new Error('the chain id is not 1-128 visible ASCII characters');
  if (!/^(0|[1-9]\d*)$/.test(fields.size) || !Number.isSafeInteger(Number(fields.size))) throw new Error('the size is not a canonical number');
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(fields.time)) throw new Error('the time is not yyyy-MM-ddTHH:mm:ss.fffZ');
  if (!/^[0-9a-f]{16}$/.test(fields.key)) throw new Error('the key id is not 16 lowercase hex digits');
  const root = base64ToBytes(fields.root);
  if (root.length !== 32) throw new Error('the root is not 32 bytes');
  return {
    chain: fields.chain,
    size: Number(fields.size),
    root,
    rootBase64: fields.root,
    time: fields.time,
    keyId: fields.key,
    body: new TextEncoder().encode(lines.slice(0, 6).join('\n') + '\n'),
    signature: base64ToBytes(lines[7].slice('signature: '.length)),
  };
}

/** The DER SubjectPublicKeyInfo inside a "PUBLIC KEY" PEM. */
export function pemToSpki(pem) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem || '');
  if (!m) throw new Error('not a PEM block (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)');
  if (m[1] !== 'PUBLIC KEY') throw new Error(`this is a ${m[1]} block; pin the PUBLIC KEY (audit-signing-key.pub.pem), never a private key`);
  return base64ToBytes(m[2].replace(/\s+/g, ''));
}

/** The key id a checkpoint names: hex of the first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo. */
export async function keyIdOf(spki) {
  return bytesToHex(await sha256(spki)).slice(0, 16);
}

/** Imports a P-256 public key for ECDSA verification; throws when it is not one. */
export async function importPublicKey(spki) {
  try {
    return await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  } catch (e) {
    throw new Error(`not an ECDSA P-256 public key (${e.message || e.name})`);
  }
}

/** Converts a DER Ecdsa-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) to the 64-byte r ‖ s WebCrypto verifies. */
export function derToRaw(der) {
  let i = 0;
  const fail = (why) => { throw new Error(`the signature is not DER: ${why}`); };
  const length = () => {
    const first = der[i++];
    if (first === undefined) fail('truncated');
    if (first < 0x80) return first;
    if (first !== 0x81) fail('length too long');
    const n = der[i++];
    if (n === undefined || n < 0x80) fail('non-minimal length');
    return n;
  };
  const integer = () => {
    if (der[i++] !== 0x02) fail('expected an INTEGER');
    const n = length();
    if (n < 1 || i + n > der.length) fail('bad INTEGER length');
    let v = der.subarray(i, i + n);
    i += n;
    if (v[0] & 0x80) fail('negative INTEGER');
    if (v.length > 1 && v[0] === 0 && !(v[1] & 0x80)) fail('non-minimal INTEGER');
    if (v[0] === 0 && v.length > 1) v = v.subarray(1);
    if (v.length > 32) fail('INTEGER longer than 32 bytes');
    const out = new Uint8Array(32);
    out.set(v, 32 - v.length);
    return out;
  };
  if (der[i++] !== 0x30) fail('expected a SEQUENCE');
  const n = length();
  if (i + n !== der.length) fail('SEQUENCE length does not match');
  const r = integer();
  const s = integer();
  if (i !== der.length) fail('trailing bytes');
  const raw = new Uint8Array(64);
  raw.set(r, 0);
  raw.set(s, 32);
  return raw;
}

/** Whether the DER signature verifies over the checkpoint body with the given key (ECDSA P-256, SHA-256). */
export async function verifySignature(key, derSignature, body) {
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, derToRaw(derSignature), body);
}
