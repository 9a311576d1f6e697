// JSON that keeps what JSON.parse loses: number tokens as written (10.50 stays 10.50, 2^64 stays exact), and, in the
// exact tree form, duplicate member names in document order. The audit trail's canonical encoding hashes number tokens
// verbatim (docs/audit-hash-chain.md), so the proof check must never round-trip a number through a double.

/** A number whose token would not survive a round trip through a JavaScript number (10.50, 1e3, 12345678901234567890). */
export class JsonNumber {
  constructor(raw) { this.raw = raw; }
  toString() { return this.raw; }
  valueOf() { return Number(this.raw); }
}

const MAX_DEPTH = 256;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

// Plain values: objects without a prototype (a member named __proto__ is just a member), arrays, strings, booleans,
// null, and numbers (a JavaScript number only when String(n) gives back the exact token, else a JsonNumber).
const plain = {
  object(members) {
    const o = Object.create(null);
    for (const [k, v] of members) o[k] = v;
    return o;
  },
  array: (items) => items,
  string: (s) => s,
  number(raw) {
    const n = Number(raw);
    return String(n) === raw ? n : new JsonNumber(raw);
  },
  literal: (raw) => (raw === 'null' ? null : raw === 'true'),
};

// Exact trees for canonicalisation: { t: 'object', members: [[name, node], ...] } keeps every member in document order.
const exact = {
  object: (members) => ({ t: 'object', members }),
  array: (items) => ({ t: 'array', items }),
  string: (v) => ({ t: 'string', v }),
  number: (raw) => ({ t: 'number', raw }),
  literal: (raw) => ({ t: 'literal', raw }),
};

/** Parses JSON text (RFC 8259, strict) into plain values; numbers keep their token (see JsonNumber). */
export function parseJson(text) { return parse(text, plain); }

/** Parses JSON text into an exact tree (duplicate names and number tokens kept), for canonicalTree. */
export function parseJsonTree(text) { return parse(text, exact); }

function parse(text, build) {
  let i = 0;
  const fail = (what) => { throw new SyntaxError(`JSON: ${what} at offset ${i}`); };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members = [];
      ws();
      if (text[i] === '}') { i++; return build.object(members); }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a member name');
        const name = string();
        ws();
        if (text[i++] !== ':') fail("expected ':'");
        members.push([name, value(depth + 1)]);
        ws();
        const d = text[i++];
        if (d === '}') return build.object(members);
        if (d !== ',') fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const items = [];
      ws();
      if (text[i] === ']') { i++; return build.array(items); }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === ']') return build.array(items);
        if (d !== ',') fail("expected ',' or ']'");
      }
    }
    if (c === '"') return build.string(string());
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) { i += lit.length; return build.literal(lit); }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail('unexpected character');
    i += m[0].length;
    return build.number(m[0]);
  };
  const string = () => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text.charCodeAt(i);
      if (ch === 0x22) { out += text.slice(start, i); i++; return out; }
      if (ch < 0x20) fail('control character in string');
      if (ch !== 0x5c) { i++; continue; }
      out += text.slice(start, i);
      const e = text[i + 1];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
      if (simple !== undefined) { out += simple; i += 2; }
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; }
      else fail('bad escape');
      start = i;
    }
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return result;
}

/** A JSON string literal with the canonical encoding's minimal escaping (docs/audit-hash-chain.md, "Canonical JSON"). */
export function canonicalString(s) {
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[k];
  }
  return out + '"';
}

// Members sorted by name comparing UTF-16 code units (what < does on strings); Array.prototype.sort is stable, so
// duplicate names keep document order.
const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** Canonical JSON text of an exact tree (from parseJsonTree). */
export function canonicalTree(node) {
  switch (node.t) {
    case 'object':
      return '{' + [...node.members].sort(byName).map(([k, v]) => canonicalString(k) + ':' + canonicalTree(v)).join(',') + '}';
    case 'array': return '[' + node.items.map(canonicalTree).join(',') + ']';
    case 'string': return canonicalString(node.v);
    case 'number': case 'literal': return node.raw;
    default: throw new TypeError('not a JSON tree node');
  }
}

/** Canonical JSON text of a plain value (from parseJson). */
export function canonicalJson(value) {
  if (value === null) return 'null';
  if (value === true || value === false) return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not a JSON number');
    return String(value);
  }
  if (value instanceof JsonNumber) return value.raw;
  if (typeof value === 'string') return canonicalString(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (typeof value === 'object') {
    return '{' + Object.keys(value).map((k) => [k, value[k]]).sort(byName).map(([k, v]) => canonicalString(k) + ':' + canonicalJson(v)).join(',') + '}';
  }
  throw new TypeError('not a JSON value');
}

/** Indented JSON text of a plain value, number tokens as written; what the page shows for documents and values. */
export function prettyJson(value, indent = '') {
  if (value === null || value === true || value === false || typeof value === 'number' || value instanceof JsonNumber) {
    return value === null ? 'null' : String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[\n' + value.map((v) => inner + prettyJson(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  return '{\n' + keys.map((k) => inner + JSON.stringify(k) + ': ' + prettyJson(value[k], inner)).join(',\n') + '\n' + indent + '}';
}

/** Whether a JSON pointer (RFC 6901, object members only, as the audit diff writes them) names a member of a value. */
export function pointerExists(value, pointer) {
  if (pointer === '') return value !== undefined && value !== null;
  let v = value;
  for (const token of pointer.split('/').slice(1)) {
    const name = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber || !Object.hasOwn(v, name)) return false;
    v = v[name];
  }
  return true;
}
