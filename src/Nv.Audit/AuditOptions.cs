namespace Nv.Audit;

/// <summary>Configuration of the audit trail (section <c>Nv:Audit</c>).</summary>
public sealed class AuditOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Audit";

    /// <summary>Directory of the embedded SQLite audit database (<c>NV_DATA_DIR</c>).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>SQLite audit file name inside <see cref="DataDirectory"/> (kept apart from the entity store).</summary>
    public string SqliteFileName { get; set; } = "audit.db";

    /// <summary>Largest number of entries written in one transaction. Boot replay and the backfill hand over thousands
    /// at a time: fewer, larger commits sync less often and rewrite the same index pages less (the live pipeline's
    /// batches are far smaller than this).</summary>
    public int MaxBatchSize { get; set; } = 8192;

    /// <summary>How long a write waits for a locked audit store before failing (whole seconds, at least 1). A failed
    /// audit write never fails the user's write: it is logged and backfilled later, so this bounds the added latency.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>MongoDB connection string (<c>NV_MONGO_URI</c>); null or empty selects the embedded SQLite store.</summary>
    public string? MongoUri { get; set; }

    /// <summary>MongoDB database of the audit trail (<c>NV_MONGO_AUDIT_DB</c>, default <c>nv_audit</c>; with only
    /// <c>NV_MONGO_DB</c> set, that name plus <c>_audit</c>); entries go to its <c>audit_entries</c> collection. A database of
    /// its own, apart from the entity collections, so a role can grant insert-only access to it (README.md).</summary>
    public string MongoDatabase { get; set; } = "nv_audit";

    /// <summary>How long the MongoDB audit store waits for a server (at start, for server selection and connecting).</summary>
    public TimeSpan MongoConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound of each MongoDB audit operation: the write concern's <c>wtimeout</c>, reads' <c>maxTimeMS</c>, the wait
    /// for a pooled connection; sockets time out 10 s later. A failed append is backfilled later.</summary>
    public TimeSpan MongoOperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Write concern <c>w</c> of audit inserts (always <c>j:true</c>): <c>auto</c> (<c>majority</c> on a replica set
    /// or through a mongos, else 1), <c>majority</c>, a number of members, or a replica-set tag.</summary>
    public string MongoWriteConcern { get; set; } = "auto";

    /// <summary>PEM file with the ECDSA P-256 private key that signs Merkle checkpoints. The environment variable
    /// <c>NV_AUDIT_SIGNING_KEY</c> (PEM text) takes precedence. With neither, a key is generated on first start into
    /// <c>audit-signing-key.pem</c> in <see cref="DataDirectory"/> (mode 0600, public key next to it), so checkpoints
    /// always exist; see docs/audit-merkle.md. Only a host generates one (not <see cref="ReadOnly"/>,
    /// <see cref="SignWithHostKeyOnly"/> or <see cref="SignWithHostKeyIfAvailable"/> openings, as the CLI's are).</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>PEM file with the public keys of earlier signing keys, one block each (<c>Nv:Audit:PreviousPublicKeysPath</c>).
    /// The store's own verification (<c>GET /v1/audit/verify</c>, <c>nv audit verify</c> without <c>--public-key</c>)
    /// checks each checkpoint with the key it names, among the current key and these, so a trail verifies across a key
    /// rotation (e.g. from the generated key to <c>NV_AUDIT_SIGNING_KEY</c>: keep the old <c>audit-signing-key.pub.pem</c>).</summary>
    public string? PreviousPublicKeysPath { get; set; }

    /// <summary>Sign a checkpoint of a chain after this many new entries (0: never by count).</summary>
    public int CheckpointEveryEntries { get; set; } = 10_000;

    /// <summary>Sign a checkpoint of a chain that grew when its last checkpoint is older than this (zero: never by
    /// time). Checked on every append and, in the embedded store, about every 100 ms while the store is open, so a chain
    /// that went quiet is signed within one interval of its last entry.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long entries stay in the store (<c>Nv:Audit:Retention</c>); null (the default) keeps every entry. Once all
    /// entries of a range recorded by <c>nv audit archive</c> are older than this, the host prunes them from the store, after
    /// verifying the archive file again; the leaf hashes and each chain's last hash stay, so every proof and
    /// verification of what remains still works, and archived entries are proven from their archive.</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>A boot replay (or <c>nv replay</c>) expected to append at least this many audit entries, and at least as many
    /// as the store already holds, appends them without four of the store's five query indexes (the time index stays) and
    /// builds those once at its end (in bulk, which costs less than keeping them up entry by entry); 0 turns this off.
    /// Queries during the replay still answer, by scanning. Only the embedded SQLite store defers; see README,
    /// "Configuration".</summary>
    public long BulkIndexThreshold { get; set; } = 100_000;

    /// <summary>Entries deleted per transaction when pruning (each chunk moves the chain's pruned marker with it).</summary>
    public int PruneBatchSize { get; set; } = 10_000;

    /// <summary>Open an existing store only to read it (the CLI's <c>nv audit verify</c>, <c>query</c>, <c>history</c>,
    /// <c>prove</c> and <c>nv replay --dry-run</c>): no schema creation or migration (a missing SQLite store, or one of an
    /// older schema version, is refused), no signing key generated or listed, no checkpoint signed (a proof no stored
    /// checkpoint covers is against the current tree, unsigned), no background SQLite or Merkle checkpoints, and on MongoDB
    /// no index created and no Merkle leaf stored (they are computed in memory); anything that would write fails. Not for a
    /// host, which appends.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Sign only with the key the host signs with (the CLI's <c>nv audit checkpoint</c>, <c>archive</c> and
    /// <c>prune</c>, which write to a store a host owns): no key is generated, so without <c>NV_AUDIT_SIGNING_KEY</c>,
    /// <see cref="SigningKeyPath"/> or the key file already in <see cref="DataDirectory"/> the store refuses to open
    /// (<see cref="AuditSigningKeyException"/>) before it writes anything; and a key other than the host's (the signing key id
    /// the host recorded at its last start, else the key of the store's newest checkpoint; on MongoDB, a key the trail does
    /// not list in <c>audit_signing_keys</c>) is refused the same way. Not for a host, which may generate its key and change
    /// it.</summary>
    public bool SignWithHostKeyOnly { get; set; }

    /// <summary>Sign only with the key the host signs with, and without it sign nothing (the CLI's <c>nv replay</c> and
    /// <c>nv erase</c>, which run the pipeline in a shell that may not have the host's key): no key is generated, and a
    /// process that has no key, or one other than the host's (decided as for <see cref="SignWithHostKeyOnly"/>), opens the
    /// store, appends as usual and signs no checkpoint (one warning says why; <see cref="IAuditProofs.CheckpointAllAsync"/>
    /// throws <see cref="AuditSigningKeyException"/>). What it appends is covered by the next checkpoint the host signs (a
    /// checkpoint signs its chain's whole tree). Excludes <see cref="SignWithHostKeyOnly"/>. Not for a host.</summary>
    public bool SignWithHostKeyIfAvailable { get; set; }
}
