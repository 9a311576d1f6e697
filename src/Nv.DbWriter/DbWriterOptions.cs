namespace Nv.DbWriter;

/// <summary>Configuration of the database writer (section <c>Nv:DbWriter</c>).</summary>
/// <remarks>No <see cref="MongoUri"/> (<c>NV_MONGO_URI</c>) selects the embedded SQLite store under <see cref="DataDirectory"/>.</remarks>
public sealed class DbWriterOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:DbWriter";

    /// <summary>Directory of the embedded SQLite database (<c>NV_DATA_DIR</c>).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>SQLite file name inside <see cref="DataDirectory"/>.</summary>
    public string SqliteFileName { get; set; } = "nv.db";

    /// <summary>How long a SQLite statement waits for a lock held by another connection before the batch fails as transient.</summary>
    /// <remarks>Sets both <c>PRAGMA busy_timeout</c> and the command timeout (rounded up to whole seconds, at least 1 s).</remarks>
    public TimeSpan SqliteBusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>MongoDB connection string (<c>NV_MONGO_URI</c>); null or empty selects SQLite.</summary>
    public string? MongoUri { get; set; }

    /// <summary>MongoDB database name (<c>NV_MONGO_DB</c>). It belongs to Nv: one collection per dtoType plus
    /// <c>_nv_*</c>; the audit trail lives in its own database (<c>Nv:Audit:MongoDatabase</c>).</summary>
    public string MongoDatabase { get; set; } = "nv";

    /// <summary>How long request outcomes are kept (the idempotency window); <c>AddNv</c> sets it from
    /// <c>Nv:Pipeline:IdempotencyRetention</c>. MongoDB expires them with a TTL index built from it.</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Overwrite deleted content with zeros (SQLite <c>PRAGMA secure_delete=ON</c>), so an erased entity leaves no
    /// copy in free pages. <c>AddNv</c> turns it on with encryption at rest.</summary>
    public bool SecureDelete { get; set; }

    /// <summary>How long startup waits for the MongoDB server before failing (also server selection and connecting).</summary>
    public TimeSpan MongoConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound of each MongoDB operation: the write concern's <c>wtimeout</c>, reads' <c>maxTimeMS</c>, the wait for a
    /// pooled connection; sockets time out 10 s later. A timeout is a transient failure: the record stays in the WAL.</summary>
    public TimeSpan MongoOperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Write concern <c>w</c> (always with <c>j:true</c>): <c>auto</c> (default: <c>majority</c> on a replica set
    /// or through a mongos, else 1), <c>majority</c>, a number of members, or a replica-set tag. The connection string's
    /// <c>w</c>/<c>journal</c>/<c>wtimeoutMS</c> are not used.</summary>
    public string MongoWriteConcern { get; set; } = "auto";

    /// <summary>Opens an existing embedded SQLite store for reading only (default off), for the operator's inspection commands
    /// (<c>nv wal stat</c>, <c>nv replay --dry-run</c>): nothing is created, migrated or written, and no file appears beside
    /// the database.</summary>
    /// <remarks>A missing file, or one whose schema this build would migrate, is refused (<see cref="DbWriterException"/>) instead
    /// of created or upgraded. A file with no <c>-wal</c> file beside it is opened as immutable (no process has it open: every
    /// writer holds the WAL's directory lock, which the inspection commands take first), so SQLite creates no <c>-wal</c> or
    /// <c>-shm</c> file; otherwise it is read through them (SQLite may update the shared-memory index <c>-shm</c>, which holds
    /// no data). Every write fails as <see cref="DbErrorClass.Unwritable"/>. The MongoDB store ignores it (its server owns
    /// the data; opening creates its indexes if missing).</remarks>
    public bool ReadOnly { get; set; }

    /// <summary>With <see cref="ReadOnly"/>: a host may open and write the store while this process reads it, because the
    /// reader does not hold the WAL's directory lock (<c>nv audit query</c> and <c>history</c> reading the data keys beside a
    /// live host). Default off.</summary>
    /// <remarks>The SQLite file is then never opened immutable (an immutable reader takes no lock, so a page a host's
    /// checkpoint rewrites meanwhile would read torn): it is always read through its <c>-wal</c> and <c>-shm</c> files, and
    /// SQLite creates those two empty files beside a store a host closed cleanly (they hold no data). Nothing else changes:
    /// nothing is written, migrated or created. Ignored without <see cref="ReadOnly"/> and by the MongoDB store.</remarks>
    public bool ReadOnlyBesideHost { get; set; }

    /// <summary>The smallest request-id filter the SQLite writer builds (tests make it small to see it rebuilt).</summary>
    internal long RequestIdFilterMinCapacity { get; init; } = RequestIdFilter.MinCapacity;
}
