#!/usr/bin/env python3
"""Reference implementation of the Nv audit hash chain (docs/audit-hash-chain.md), version 1.

Usage: audit_verify_reference.py path/to/audit.db   -> verifies every chain in a SQLite audit store.
Independent of the .NET code on purpose: it is how the spec is checked.
"""
import hashlib, json, sqlite3, struct, sys


class Num(str):
    """A JSON number kept as its source token."""


class Obj(list):
    """A JSON object as its list of (name, value) pairs, duplicates included."""


def load(text):
    return json.loads(text, parse_float=Num, parse_int=Num, object_pairs_hook=Obj)


def canon(v):
    if isinstance(v, Obj):
        # object (list of pairs); a stable sort keeps duplicates in document order
        members = sorted(v, key=lambda p: p[0].encode("utf-16-be"))
        return "{" + ",".join(canon_str(k) + ":" + canon(x) for k, x in members) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, Num):
        return str(v)
    if isinstance(v, str):
        return canon_str(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    raise ValueError(v)


def canon_str(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"': out.append('\\"')
        elif ch == '\\': out.append('\\\\')
        elif ch == '\b': out.append('\\b')
        elif ch == '\f': out.append('\\f')
        elif ch == '\n': out.append('\\n')
        elif ch == '\r': out.append('\\r')
        elif ch == '\t': out.append('\\t')
        elif c < 0x20: out.append('\\u%04x' % c)
        else: out.append(ch)
    out.append('"')
    return "".join(out)


def field(value):
    if value is None:
        return b"\x00"
    data = value.encode("utf-8")
    return b"\x01" + struct.pack(">I", len(data)) + data


def canonical_bytes(e):
    """e: dict with the stored (text) form of each field; JSON fields as JSON text or None."""
    parts = [b"NVAE", b"\x01"]
    for name in ("id", "timestamp", "service", "category", "operation", "user_id", "dto_type", "entity_id"):
        parts.append(field(e[name]))
    for name in ("before_json", "after_json", "changes_json"):
        parts.append(field(None if e[name] is None else canon(load(e[name]))))
    parts.append(field(e["reason"]))
    parts.append(field(canon(load(e["metadata_json"]))))
    parts.append(field(e["request_id"]))
    parts.append(field(None if e["lsn"] is None else str(e["lsn"])))
    parts.append(field(str(e["sequence"])))
    parts.append(field(e["prev_hash"]))
    return b"".join(parts)


def entry_hash(e):
    return hashlib.sha256(bytes.fromhex(e["prev_hash"]) + canonical_bytes(e)).hexdigest()


def verify(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    chain, last_seq, last_hash, n = None, 0, "0" * 64, 0
    for row in db.execute("SELECT * FROM audit_entries ORDER BY service, sequence"):
        e = dict(row)
        if e["service"] != chain:
            chain, last_seq, last_hash = e["service"], 0, "0" * 64
        n += 1
        if e["sequence"] != last_seq + 1:
            return f"BROKEN {chain} #{e['sequence']}: expected sequence {last_seq + 1}"
        if e["prev_hash"] != last_hash:
            return f"BROKEN {chain} #{e['sequence']}: prevHash mismatch"
        if entry_hash(e) != e["hash"]:
            return f"BROKEN {chain} #{e['sequence']}: hash mismatch (edited)"
        last_seq, last_hash = e["sequence"], e["hash"]
    return f"OK {n} entries"


if __name__ == "__main__":
    print(verify(sys.argv[1]))
