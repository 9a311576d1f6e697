#!/usr/bin/env python3
"""Reference implementation of the Nv audit hash chain (docs/audit-hash-chain.md, encodings 1, 2 and 3), of the
Merkle tree checks (docs/audit-merkle.md) and of archive files (docs/audit-archive.md).

Usage: audit_verify_reference.py path/to/audit.db [public-key.pem]
  -> verifies every chain in a SQLite audit store, recomputes each chain's RFC 9162 Merkle tree from the entries
     (for a chain retention pruned: from its kept leaf hashes, then its entries, which must link to the kept hash),
     checks the stored leaf hashes and every stored checkpoint's size and root, that every pruned entry lies in a
     recorded archive, that the archive rows are the ones the newest audit-archived entry commits to (the archive
     ledger; rows recorded before it are reported as unverified), and (with a public key and the `cryptography` package)
     each checkpoint's ECDSA P-256 signature.
       audit_verify_reference.py --archive FILE [public-key.pem]
  -> verifies an archive file offline: entries link and hash, the Merkle root recomputed from the header's frontier
     and the entries is the one its checkpoint signs, and (with a public key) the signature.
Independent of the .NET code on purpose: it is how the spec is checked.
"""
import base64, gzip, hashlib, json, re, sqlite3, struct, sys


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
    if version not in (1, 2, 3):
        raise ValueError(f"unknown encoding {version}")
    if e.get("key_id") is not None and (e["before_json"] is not None or e["after_json"] is not None
                                        or canon(load(e["changes_json"])) != "[]"):
        raise ValueError("a sealed entry holds plain data beside its ciphertext")
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
    if version >= 2:
        parts.append(field(e["wal_record_hash"]))
    elif e.get("wal_record_hash") is not None:
        raise ValueError("encoding 1 cannot hold a WAL record hash")
    if version == 3:
        # Encryption at rest: the data key id and the sealed before/after/changes (standard base64 of the raw bytes).
        # The hash covers the ciphertext, so it verifies with or without the key, and after the key was destroyed.
        parts.append(field(e["key_id"]))
        parts.append(field(None if e["sealed"] is None else base64.b64encode(bytes(e["sealed"])).decode("ascii")))
    elif e.get("key_id") is not None or e.get("sealed") is not None:
        raise ValueError(f"encoding {version} cannot hold a sealed entry")
    return b"".join(parts)


def wal_record_hash(r):
    """docs/audit-hash-chain.md, "WAL record hash": r holds the 15 fields in text form (None = absent); payload and
    metadata as JSON text (canonicalized here)."""
    parts = [b"NVWR", bytes([1])]
    for name in ("id", "lsn", "service", "version", "timestamp", "operation", "dto_type", "entity_id", "payload", "replay_key",
                 "request_id", "user_id", "reason", "metadata", "expected_lsn"):
        value = r[name]
        if name in ("payload", "metadata") and value is not None:
            value = canon(load(value))
        parts.append(field(value))
    return hashlib.sha256(b"".join(parts)).hexdigest()


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
    """The PEM may hold several public keys (one block each, e.g. before and after a key change): each checkpoint is
    checked with the key its key: line names."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    lines = text.split("\n")
    body = ("\n".join(lines[:6]) + "\n").encode()
    keys = {}
    for block in re.findall(rb"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", public_key_pem, re.S) or [public_key_pem]:
        key = serialization.load_pem_public_key(block)
        spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        keys["key: " + hashlib.sha256(spki).hexdigest()[:16]] = key
    pub = keys.get(lines[5])
    if pub is None:
        return "checkpoint names another key"
    try:
        pub.verify(base64.b64decode(lines[7][len("signature: "):]), body, ec.ECDSA(hashes.SHA256()))
    except Exception:
        return "signature does not verify"
    return None


def mth_with_base(base_size, frontier, leaves):
    """RFC 9162 root over `base_size` leaves known only by their frontier (the complete subtrees, largest first) and then
    `leaves` (an archive's view of its chain's tree)."""
    blocks, start = {}, 0
    for level in range(62, -1, -1):
        if (base_size >> level) & 1:
            blocks[(start, 1 << level)] = frontier.pop(0)
            start += 1 << level
    if frontier:
        raise ValueError("the frontier has more hashes than set bits of its size")

    def h(start, count):
        if (start, count) in blocks:
            return blocks[(start, count)]
        if start + count <= base_size:
            raise ValueError("a subtree inside the frontier was asked for")
        if count == 1:
            return leaves[start - base_size]
        k = 1
        while k * 2 < count:
            k *= 2
        return node_hash(h(start, k), h(start + k, count - k))

    n = base_size + len(leaves)
    return hashlib.sha256(b"").digest() if n == 0 else h(0, n)


ARCHIVE_FIELDS = {"user_id": "userId", "dto_type": "dtoType", "entity_id": "entityId", "before_json": "before",
                  "after_json": "after", "changes_json": "changes", "metadata_json": "metadata", "request_id": "requestId",
                  "prev_hash": "prevHash", "wal_record_hash": "walRecordHash"}


def verify_archive(path, public_key_pem=None):
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = json.loads(lines[0])
    if header.get("format") != "nv-audit-archive/v1":
        return "BROKEN: not an nv-audit-archive/v1 file"
    chain, seq, prev = header["chain"], header["firstSequence"] - 1, header["prevHash"]
    frontier = [bytes.fromhex(x) for x in header["frontier"]]
    leaves, end = [], None
    for line in lines[1:]:
        a = json.loads(line)
        if a.get("end"):
            end = a
            break
        e = {k: a[ARCHIVE_FIELDS.get(k, k)] for k in ("id", "timestamp", "service", "category", "operation", "user_id", "dto_type",
                                                       "entity_id", "before_json", "after_json", "changes_json", "reason",
                                                       "metadata_json", "request_id", "lsn", "sequence", "prev_hash",
                                                       "wal_record_hash", "encoding")}
        # Encoding 3 (encryption at rest): the data key id and the sealed bytes (base64 in the archive line).
        e["key_id"] = a.get("keyId")
        e["sealed"] = None if a.get("sealed") is None else base64.b64decode(a["sealed"])
        if e["service"] != chain or e["sequence"] != seq + 1:
            return f"BROKEN {chain} #{e['sequence']}: expected sequence {seq + 1}"
        if e["prev_hash"] != prev:
            return f"BROKEN {chain} #{e['sequence']}: prevHash mismatch"
        if entry_hash(e) != a["hash"]:
            return f"BROKEN {chain} #{e['sequence']}: hash mismatch (edited)"
        leaves.append(leaf_hash(canonical_bytes(e)))
        seq, prev = e["sequence"], a["hash"]
    if end is None or end["lastSequence"] != seq or end["lastHash"] != prev or end["entries"] != len(leaves):
        return "BROKEN: the end line is missing or does not match the entries (truncated, entries removed or added)"
    text = end["checkpoint"]
    fields = dict(l.split(": ", 1) for l in text.split("\n")[1:6])
    if fields["chain"] != chain or int(fields["size"]) != seq:
        return "BROKEN: the checkpoint is for another chain or size"
    if mth_with_base(header["firstSequence"] - 1, frontier, leaves) != base64.b64decode(fields["root"]):
        return "BROKEN: Merkle root mismatch (entries rewritten)"
    key = public_key_pem if public_key_pem is not None else end["publicKey"].encode()
    try:
        if problem := check_signature(text, key):
            return f"BROKEN: checkpoint {problem}"
    except ImportError:
        return f"OK {len(leaves)} entries {header['firstSequence']}..{seq} of {chain} (signature not checked: no cryptography package)"
    pinned = "" if public_key_pem is not None else " (with the key the file carries)"
    return f"OK {len(leaves)} entries {header['firstSequence']}..{seq} of {chain}, root and signature verified{pinned}"


ARCHIVE_ROW_COLUMNS = ("chain", "first_sequence", "last_sequence", "last_hash", "last_timestamp", "file_name", "file_sha256",
                       "checkpoint", "created")
LEDGER_KEYS = ("archiveLedgerVersion", "archiveLedgerRows", "archiveLedgerSha256")


def archive_ledger(rows):
    """docs/audit-archive.md §5: ledger(0) = 32 zero bytes, ledger(k) = SHA-256(ledger(k-1) || row bytes(k)); a row's bytes
    are "NVAR", version 1, then its nine columns as fields (numbers in decimal)."""
    ledger = bytes(32)
    for row in rows:
        data = b"NVAR" + bytes([1]) + b"".join(field(None if row[c] is None else str(row[c])) for c in ARCHIVE_ROW_COLUMNS)
        ledger = hashlib.sha256(ledger + data).digest()
    return ledger.hex()


def check_archive_ledger(rows, newest, checkpointed):
    """rows: the chain's archive rows by first sequence; newest: (sequence, metadata) of the newest audit-archived entry Nv
    wrote (system-events, no LSN) among the chain's live entries, or None; checkpointed: the largest stored checkpoint size.
    Returns (problem or None, rows no ledger covers)."""
    expected = 1
    for r in rows:
        if r["first_sequence"] != expected or r["last_sequence"] < r["first_sequence"]:
            return f"archive rows are not consecutive ranges from entry 1 at entries {r['first_sequence']}..{r['last_sequence']}", 0
        expected = r["last_sequence"] + 1
    if newest is None:
        return (f"archive rows cover entries 1..{rows[-1]['last_sequence']} but no audit-archived entry records them" if rows else None), 0
    seq, meta = newest
    try:
        first, last, sha = int(meta["firstSequence"]), int(meta["lastSequence"]), meta["sha256"]
    except (KeyError, ValueError):
        return f"audit-archived entry {seq} does not name the range and file it recorded", 0
    if not rows:
        return f"audit-archived entry {seq} records entries {first}..{last} but no archive row exists (archive rows deleted)", 0
    r = rows[-1]
    if (r["first_sequence"], r["last_sequence"], r["file_sha256"]) != (first, last, sha):
        return f"the newest archive row ({r['first_sequence']}..{r['last_sequence']}) is not the one audit-archived entry {seq} records", 0
    present = [k for k in LEDGER_KEYS if k in meta]
    if not present:
        return None, len(rows)  # written before the ledger: only the ranges and the newest row could be checked
    if len(present) != len(LEDGER_KEYS):
        return f"audit-archived entry {seq} holds only part of an archive ledger commitment", 0
    if meta["archiveLedgerVersion"] != "1":
        return f"audit-archived entry {seq}: unknown archive ledger version {meta['archiveLedgerVersion']!r}", 0
    if checkpointed < seq:
        return f"audit-archived entry {seq} is not covered by a signed checkpoint", 0
    if meta["archiveLedgerRows"] != str(len(rows)) or meta["archiveLedgerSha256"] != archive_ledger(rows):
        return f"the archive rows are not the ones audit-archived entry {seq} commits to (archive row inserted, deleted or edited)", 0
    return None, 0


def verify(path, public_key_pem=None):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    pruned = {}
    if "audit_pruned" in tables:
        pruned = {r[0]: (r[1], r[2]) for r in db.execute("SELECT chain, through, last_hash FROM audit_pruned")}
    chain, last_seq, last_hash, last_version, n = None, 0, "0" * 64, 0, 0
    leaves, newest_archived, checkpointed = {}, {}, {}
    for c, (through, _) in pruned.items():
        leaves[c] = [bytes(r[0]) for r in db.execute(
            "SELECT hash FROM audit_merkle_leaves WHERE chain = ? AND idx < ? ORDER BY idx", (c, through))]
        if len(leaves[c]) != through:
            return f"BROKEN {c}: Merkle leaves of the pruned entries 1..{through} are missing"
        covered = 0
        for first, last, h in db.execute(
                "SELECT first_sequence, last_sequence, last_hash FROM audit_archives WHERE chain = ? ORDER BY first_sequence", (c,)):
            if first != covered + 1 or covered >= through:
                break
            covered, covered_hash = last, h
        if covered < through:
            return f"BROKEN {c}: entries {covered + 1}..{through} were pruned but no recorded archive holds them"
    for row in db.execute("SELECT * FROM audit_entries ORDER BY service, sequence"):
        e = dict(row)
        if e["service"] != chain:
            chain, last_version = e["service"], 0
            last_seq, last_hash = pruned.get(chain, (0, "0" * 64))
            leaves.setdefault(chain, [])
        n += 1
        if e["sequence"] != last_seq + 1:
            return f"BROKEN {chain} #{e['sequence']}: expected sequence {last_seq + 1}"
        if e["prev_hash"] != last_hash:
            return f"BROKEN {chain} #{e['sequence']}: prevHash mismatch"
        version = e.get("encoding") or 1
        if version < last_version:
            return f"BROKEN {chain} #{e['sequence']}: encoding downgraded"
        try:
            computed = entry_hash(e)
        except ValueError as ex:
            return f"BROKEN {chain} #{e['sequence']}: {ex} (edited)"
        if computed != e["hash"]:
            return f"BROKEN {chain} #{e['sequence']}: hash mismatch (edited)"
        leaves[chain].append(leaf_hash(canonical_bytes(e)))
        last_seq, last_hash, last_version = e["sequence"], e["hash"], version
        if e["category"] == "system-events" and e["operation"] == "audit-archived" and e["lsn"] is None:
            newest_archived[chain] = (e["sequence"], json.loads(column_text(e["metadata_json"])))
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
            checkpointed[chain] = max(checkpointed.get(chain, 0), size)
    # The archive ledger: the rows (which let entries be pruned) must be the ones the newest audit-archived entry commits to.
    archives = {}
    if "audit_archives" in tables:
        for row in db.execute(f"SELECT {', '.join(ARCHIVE_ROW_COLUMNS)} FROM audit_archives ORDER BY chain, first_sequence"):
            archives.setdefault(row["chain"], []).append(dict(row))
    unverified = []
    for chain in sorted(set(archives) | set(newest_archived)):
        problem, legacy = check_archive_ledger(archives.get(chain, []), newest_archived.get(chain), checkpointed.get(chain, 0))
        if problem:
            return f"BROKEN {chain}: {problem}"
        if legacy:
            unverified.append(f"{legacy} archive rows of {chain}")
    if "audit_merkle_leaves" in tables:
        stored = {}
        for chain, idx, h in db.execute("SELECT chain, idx, hash FROM audit_merkle_leaves ORDER BY chain, idx"):
            stored.setdefault(chain, []).append(bytes(h))
        for chain, have in leaves.items():
            if stored.get(chain, []) != have:
                return f"BROKEN {chain}: stored Merkle leaves differ from the entries"
    warning = f"; WARNING: unverified archive rows (recorded before the archive ledger): {', '.join(unverified)}" if unverified else ""
    return f"OK {n} entries, {checkpoints} checkpoints{warning}"


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


def fixed_wal_record():
    """The golden WAL record (WalRecordHasherTests.Golden in tests/unit/Audit) in text form."""
    return {
        "id": "01890a5d-ac96-774b-bcce-b302099a8057", "lsn": "1234", "service": "orders", "version": "3",
        "timestamp": "2025-03-14T15:09:26.5358979Z", "operation": "update", "dto_type": "Order", "entity_id": "o-17",
        "payload": '{"total":12.00,"status":"paid","note":"caf\u00e9 \\"x\\"","lines":[1,2]}', "replay_key": "prod:orders:3:Order:o-17",
        "request_id": "req-1", "user_id": "user-42", "reason": "payment received", "metadata": '{"z":"last","a":"first"}',
        "expected_lsn": "1200",
    }


def fixed_archive_rows():
    """The golden archive rows (ArchiveLedgerTests.Golden in tests/unit/Audit/Archive) as stored."""
    row = {"chain": "orders", "first_sequence": 1, "last_sequence": 30, "last_hash": "b" * 64,
           "last_timestamp": "2025-06-01T00:29:00.0000000Z", "file_name": "/var/nv/archives/orders-1-30.nvarchive",
           "file_sha256": "c" * 64, "checkpoint": "nv-audit-checkpoint/v1\nchain: orders\nsize: 30\n", "created": "2025-06-02T10:00:00.0000000Z"}
    return [row, dict(row, first_sequence=31, last_sequence=45, file_name="/var/nv/archives/caf\u00e9-31-45.nvarchive")]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--archive"]:
        print(verify_archive(sys.argv[2], open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None))
    elif sys.argv[1:] == ["--golden"]:
        e = fixed_entry_v2()
        print("v2", entry_hash(e))
        sealed = dict(e, encoding=3, before_json=None, after_json=None, changes_json="[]",
                      key_id="0f8fad5b-d9cb-469f-a165-70867728950e", sealed=bytes(range(32)))
        print("v3", entry_hash(sealed))
        e["encoding"], e["wal_record_hash"] = 1, None
        print("v1", entry_hash(e))
        print("wal", wal_record_hash(fixed_wal_record()))
        r = fixed_wal_record()
        r["user_id"], r["reason"], r["expected_lsn"], r["metadata"], r["operation"], r["payload"] = None, None, None, "{}", "delete", "{}"
        print("wal-delete", wal_record_hash(r))
        print("archive-ledger", archive_ledger(fixed_archive_rows()))
    else:
        print(verify(sys.argv[1], open(sys.argv[2], "rb").read() if len(sys.argv) > 2 else None))
