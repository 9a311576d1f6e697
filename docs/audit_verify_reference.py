#!/usr/bin/env python3
"""Reference implementation of the Nv audit hash chain (docs/audit-hash-chain.md, encodings 1 and 2) and of the
Merkle tree checks (docs/audit-merkle.md).

Usage: audit_verify_reference.py path/to/audit.db [public-key.pem]
  -> verifies every chain in a SQLite audit store, recomputes each chain's RFC 9162 Merkle tree from the entries,
     checks the stored leaf hashes and every stored checkpoint's size and root, and (with a public key and the
     `cryptography` package) each checkpoint's ECDSA P-256 signature.
Independent of the .NET code on purpose: it is how the spec is checked.
"""
import base64, hashlib, json, sqlite3, struct, sys


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


def lz4_block_decode(src, size):
    """Decodes one LZ4 block (the LZ4 block format specification) into `size` bytes."""
    out, i = bytearray(), 0
    while i < len(src):
        token = src[i]; i += 1
        n = token >> 4
        if n == 15:
            while True:
                b = src[i]; i += 1; n += b
                if b != 255:
                    break
        out += src[i:i + n]; i += n
        if i >= len(src):
            break
        offset = src[i] | (src[i + 1] << 8); i += 2
        if offset == 0 or offset > len(out):
            raise ValueError("bad LZ4 match offset")
        m = token & 15
        if m == 15:
            while True:
                b = src[i]; i += 1; m += b
                if b != 255:
                    break
        m += 4
        for _ in range(m):  # byte by byte: matches may overlap their own output
            out.append(out[-offset])
    if len(out) != size:
        raise ValueError("LZ4 block does not decode to its recorded length")
    return bytes(out)


def column_text(value):
    """A JSON column as stored: canonical JSON text, or (a BLOB) 0x4C 'L' + little-endian uint32 length + one LZ4 block."""
    if value is None or isinstance(value, str):
        return value
    value = bytes(value)
    if len(value) < 5 or value[0] != 0x4C:
        raise ValueError("a compressed audit column does not start with the LZ4 marker")
    return lz4_block_decode(value[5:], struct.unpack("<I", value[1:5])[0]).decode("utf-8")


def canonical_bytes(e):
    """e: dict with the stored form of each field; JSON fields as JSON text (or LZ4-compressed text) or None."""
    e = {k: (column_text(v) if k.endswith("_json") else v) for k, v in e.items()}
    version = e.get("encoding") or 1
    if version not in (1, 2):
        raise ValueError(f"unknown encoding {version}")
    parts = [b"NVAE", bytes([version])]
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
    if version == 2:
        parts.append(field(e["wal_record_hash"]))
    elif e.get("wal_record_hash") is not None:
        raise ValueError("encoding 1 cannot hold a WAL record hash")
    return b"".join(parts)


def entry_hash(e):
    return hashlib.sha256(bytes.fromhex(e["prev_hash"]) + canonical_bytes(e)).hexdigest()


def leaf_hash(data): return hashlib.sha256(b"\x00" + data).digest()


def node_hash(l, r): return hashlib.sha256(b"\x01" + l + r).digest()


def mth(leaves):
    """RFC 9162 §2.1.1 over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def check_signature(text, public_key_pem):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    lines = text.split("\n")
    body = ("\n".join(lines[:6]) + "\n").encode()
    pub = serialization.load_pem_public_key(public_key_pem)
    spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if lines[5] != "key: " + hashlib.sha256(spki).hexdigest()[:16]:
        return "checkpoint names another key"
    try:
        pub.verify(base64.b64decode(lines[7][len("signature: "):]), body, ec.ECDSA(hashes.SHA256()))
    except Exception:
        return "signature does not verify"
    return None


def verify(path, public_key_pem=None):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    chain, last_seq, last_hash, last_version, n = None, 0, "0" * 64, 0, 0
    leaves = {}
    for row in db.execute("SELECT * FROM audit_entries ORDER BY service, sequence"):
        e = dict(row)
        if e["service"] != chain:
            chain, last_seq, last_hash, last_version = e["service"], 0, "0" * 64, 0
            leaves[chain] = []
        n += 1
        if e["sequence"] != last_seq + 1:
            return f"BROKEN {chain} #{e['sequence']}: expected sequence {last_seq + 1}"
        if e["prev_hash"] != last_hash:
            return f"BROKEN {chain} #{e['sequence']}: prevHash mismatch"
        version = e.get("encoding") or 1
        if version < last_version:
            return f"BROKEN {chain} #{e['sequence']}: encoding downgraded"
        if entry_hash(e) != e["hash"]:
            return f"BROKEN {chain} #{e['sequence']}: hash mismatch (edited)"
        leaves[chain].append(leaf_hash(canonical_bytes(e)))
        last_seq, last_hash, last_version = e["sequence"], e["hash"], version
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    checkpoints = 0
    if "audit_checkpoints" in tables:
        for row in db.execute("SELECT chain, size, text FROM audit_checkpoints ORDER BY chain, position"):
            chain, size, text = row
            checkpoints += 1
            fields = dict(l.split(": ", 1) for l in text.split("\n")[1:6])
            if fields["chain"] != chain or int(fields["size"]) != size:
                return f"BROKEN {chain} checkpoint {size}: columns differ from the signed text"
            if public_key_pem is not None and (problem := check_signature(text, public_key_pem)):
                return f"BROKEN {chain} checkpoint {size}: {problem}"
            have = leaves.get(chain, [])
            if size > len(have):
                return f"BROKEN {chain} checkpoint {size}: entries {len(have) + 1}..{size} missing (newest entries deleted)"
            if mth(have[:size]) != base64.b64decode(fields["root"]):
                return f"BROKEN {chain} checkpoint {size}: Merkle root mismatch (history rewritten)"
    if "audit_merkle_leaves" in tables:
        stored = {}
        for chain, idx, h in db.execute("SELECT chain, idx, hash FROM audit_merkle_leaves ORDER BY chain, idx"):
            stored.setdefault(chain, []).append(bytes(h))
        for chain, have in leaves.items():
            if stored.get(chain, []) != have:
                return f"BROKEN {chain}: stored Merkle leaves differ from the entries"
    return f"OK {n} entries, {checkpoints} checkpoints"


def fixed_entry_v2():
    """The golden vector entry (AuditTestData.FixedEntryV2 in tests/unit/Audit) in stored form."""
    return {
        "id": "01890a5d-ac96-774b-bcce-b302099a8057", "timestamp": "2025-03-14T15:09:26.5358979Z", "service": "orders",
        "category": "entity-mutation", "operation": "update", "user_id": "user-42", "dto_type": "Order", "entity_id": "o-17",
        "before_json": '{"status":"new","total":10.50,"lines":[1,2]}',
        "after_json": '{"total":12.00,"status":"paid","lines":[1,2],"note":"caf\u00e9 \\"x\\""}',
        "changes_json": '[{"after":"caf\u00e9 \\"x\\"","path":"/note"},{"after":"paid","before":"new","path":"/status"},'
                        '{"after":12.00,"before":10.50,"path":"/total"}]',
        "reason": "payment received", "metadata_json": '{"z":"last","a":"first"}', "request_id": "req-1", "lsn": 1234,
        "sequence": 7, "prev_hash": "a" * 64, "encoding": 2,
        "wal_record_hash": "5f1c0e3c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c2b7d41e8569a0c",
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--golden"]:
        e = fixed_entry_v2()
        print("v2", entry_hash(e))
        e["encoding"], e["wal_record_hash"] = 1, None
        print("v1", entry_hash(e))
    else:
        print(verify(sys.argv[1], open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None))
