// The audit entry's canonical bytes, rebuilt in the browser from its fields (docs/audit-hash-chain.md): "NVAE", the
// version byte, then 17 (version 1), 18 (version 2) or 20 (version 3: a sealed entry's key id and base64 ciphertext; its
// before and after absent, its changes []) fields, each absent (0x00) or present (0x01, a 4-byte big-endian
// length, UTF-8). Nothing here asks the server for a hash: every hash the proof check compares is computed from these bytes.
import { JsonNumber, canonicalString, canonicalTree, parseJsonTree } from './json.js';

const utf8 = new TextEncoder();

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error(`not lowercase hex: ${String(hex).slice(0, 80)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export const bytesToHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export function base64ToBytes(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('not base64');
  const bin = atob(text);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export const bytesToBase64 = (bytes) => btoa(String.fromCharCode(...bytes));

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?(Z|([+-])(\d\d):(\d\d))$/;

/** An ISO-8601 time as the encoding writes it: UTC, 7 fractional digits, 'Z' (2025-03-14T15:09:26.5358979Z). */
export function canonicalTimestamp(iso) {
  const m = TIMESTAMP.exec(iso);
  if (!m) throw new Error(`not an ISO-8601 time: ${String(iso).slice(0, 40)}`);
  const fraction = (m[7] || '').padEnd(7, '0');
  let [y, mo, d, h, mi, s] = m.slice(1, 7);
  if (m[8] !== 'Z' && (m[10] !== '00' || m[11] !== '00')) {
    const sign = m[9] === '+' ? 1 : -1;
    const t = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - sign * (Number(m[10]) * 60 + Number(m[11])) * 60000);
    const p = (n, w = 2) => String(n).padStart(w, '0');
    [y, mo, d, h, mi, s] = [p(t.getUTCFullYear(), 4), p(t.getUTCMonth() + 1), p(t.getUTCDate()), p(t.getUTCHours()), p(t.getUTCMinutes()), p(t.getUTCSeconds())];
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${fraction}Z`;
}

/** Milliseconds since the epoch of an ISO-8601 time with any number of fractional digits. */
export const toMillis = (iso) => Date.parse(canonicalTimestamp(iso).slice(0, 23) + 'Z');

const decimal = (n) => {
  const text = n instanceof JsonNumber ? n.raw : String(n);
  if (!/^-?\d+$/.test(text)) throw new Error(`not an integer: ${text}`);
  return text;
};

const jsonText = (text) => (text === null || text === undefined ? null : canonicalTree(parseJsonTree(text)));

/** Canonical JSON of the changes array: {"after"?,"before"?,"path"} in list order, an absent side left out. */
export function canonicalChanges(changes) {
  return '[' + changes.map((c) => {
    const members = [];
    if (c.after !== undefined && c.after !== null) members.push('"after":' + jsonText(c.after));
    if (c.before !== undefined && c.before !== null) members.push('"before":' + jsonText(c.before));
    members.push('"path":' + canonicalString(c.path));
    return '{' + members.join(',') + '}';
  }).join(',') + ']';
}

/** Canonical JSON of a string map: keys sorted by UTF-16 code units. */
export function canonicalMetadata(map) {
  const keys = Object.keys(map).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + keys.map((k) => {
    if (typeof map[k] !== 'string') throw new Error(`metadata '${k}' is not a string`);
    return canonicalString(k) + ':' + canonicalString(map[k]);
  }).join(',') + '}';
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;
const HASH = /^[0-9a-f]{64}$/;

/**
 * The canonical bytes of an entry given as GET /v1/audit/entries/{id}/leaf answers it (JSON-valued fields as JSON text,
 * null = absent). Throws with the reason when a field cannot be encoded.
 */
export function encodeEntry(leaf) {
  const version = leaf.encoding;
  if (version !== 1 && version !== 2 && version !== 3) throw new Error(`unknown encoding version ${version}`);
  if (version === 1 && leaf.walRecordHash != null) throw new Error('encoding version 1 cannot hold a WAL record hash');
  if (version < 3 && (leaf.keyId != null || leaf.sealed != null)) throw new Error(`encoding version ${version} cannot hold a sealed entry`);
  const sealed = leaf.keyId != null;
  if (sealed && (leaf.before != null || leaf.after != null || (leaf.changes ?? []).length > 0)) {
    throw new Error('a sealed entry holds plain data beside its ciphertext');
  }
  if (!ID.test(leaf.id)) throw new Error(`id is not a lowercase UUID: ${leaf.id}`);
  if (!CANONICAL_TIME.test(leaf.timestamp)) throw new Error(`timestamp is not in the canonical form: ${leaf.timestamp}`);
  if (!HASH.test(leaf.prevHash)) throw new Error('prevHash is not 64 lowercase hex digits');
  const parts = [utf8.encode('NVAE'), Uint8Array.of(version)];
  const field = (text) => {
    if (text === null || text === undefined) { parts.push(Uint8Array.of(0)); return; }
    const bytes = utf8.encode(text);
    const head = new Uint8Array(5);
    head[0] = 1;
    new DataView(head.buffer).setUint32(1, bytes.length, false);
    parts.push(head, bytes);
  };
  field(leaf.id);
  field(leaf.timestamp);
  field(leaf.service);
  field(leaf.category);
  field(leaf.operation);
  field(leaf.userId);
  field(leaf.dtoType);
  field(leaf.entityId);
  field(jsonText(leaf.before));
  field(jsonText(leaf.after));
  field(canonicalChanges(leaf.changes));
  field(leaf.reason);
  field(canonicalMetadata(leaf.metadata));
  field(leaf.requestId);
  field(leaf.lsn === null || leaf.lsn === undefined ? null : decimal(leaf.lsn));
  field(decimal(leaf.sequence));
  field(leaf.prevHash);
  if (version >= 2) field(leaf.walRecordHash);
  if (version >= 3) {
    field(leaf.keyId ?? null);
    field(leaf.sealed ?? null);
  }
  return concat(...parts);
}

/** The chain hash: SHA-256(32 bytes of prevHash ‖ canonical bytes), lowercase hex. */
export async function chainHashHex(prevHash, canonicalBytes) {
  return bytesToHex(await sha256(concat(hexToBytes(prevHash), canonicalBytes)));
}
