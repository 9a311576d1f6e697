namespace Nv.Host.Pipeline;

/// <summary>Limits and batching of the write pipeline (section <c>Nv:Pipeline</c>).</summary>
public sealed class PipelineOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Pipeline";

    /// <summary>Deployment environment, first part of every replay key (<c>NV_ENV</c>).</summary>
    public string Environment { get; set; } = "dev";

    /// <summary>This service's name (<c>NV_SERVICE</c>): the replay-key slug and the audit chain.</summary>
    public string Service { get; set; } = "nv";

    /// <summary>Largest payload accepted, in UTF-8 bytes (default 256 KiB).</summary>
    public int MaxPayloadBytes { get; set; } = 256 * 1024;

    /// <summary>Deepest object/array nesting accepted in a payload.</summary>
    public int MaxPayloadDepth { get; set; } = 32;

    /// <summary>Most items in one batch (<see cref="IWritePipeline.WriteBatchAsync"/>, <c>POST /v1/batch</c>); more is refused (413).</summary>
    public int MaxBatchItems { get; set; } = 1000;

    /// <summary>Largest batch, in bytes as written to the WAL (payloads, ids, replay keys, audit context and, with encryption
    /// at rest, each item's seal and subject); more is refused (413). At most the WAL's record limit
    /// (<c>Nv:Wal:MaxRecordBytes</c>, default 1 MiB): a batch is one record (checked at start).</summary>
    public int MaxBatchBytes { get; set; } = 960 * 1024;

    /// <summary>Largest number of writes in one WAL sync / database transaction.</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>Records per database transaction (and per audit append) during boot replay. Each batch is held in memory
    /// by up to four stages: small batches keep what is in flight small (less for the garbage collector to carry, finer
    /// overlap of the stages); the commits are not synced (the replay's one durable point comes at its end).</summary>
    /// <remarks>256 measured fastest (<c>./build.sh bench replay --records 400000</c> with 128 to 8,192: 256 ran 1.22–1.36×
    /// the rate of 8,192, the previous default, at ~15% less CPU per record).</remarks>
    public int ReplayBatchSize { get; set; } = 256;

    /// <summary>Settled request ids remembered in memory for idempotent retries (older ones are found in the database's
    /// request outcomes). Requests still in flight, durable in the WAL but not yet applied, or applied but not yet audited
    /// are never forgotten, so the cache can hold more while the database or the audit store is behind.</summary>
    /// <remarks>Only retries are answered from it (a new id is never in it), and a retry of a forgotten id gets the same
    /// answer from the database, so its size is a cost, not a guarantee. 1,024 by default (100,000 until 2026-12-07):
    /// every remembered write outlives a few young-generation collections and is copied into the oldest one, and at
    /// 100,000 that copying was most of the garbage collector's pauses (<c>./build.sh bench bounds</c>, 2 pairs: the WAL path
    /// alone 1.42–1.46× the writes/s and 19% → 5% of the time paused, ack=applied 1.03–1.26× and 8% → 2.4%).</remarks>
    public int RequestIdCacheSize { get; set; } = 1_024;

    /// <summary>How long a request id's outcome is kept (default 24 hours, as in Stripe's API): a retry within it returns
    /// the first outcome and writes nothing, whatever happened to the WAL since (truncation, restarts). Expired outcomes
    /// are purged in the background; the same id after that is a new request.</summary>
    public TimeSpan IdempotencyRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a retry waits for the first attempt of its request id while that one is still in flight, before
    /// it is answered <c>409 request-in-progress</c> (retry later with the same id).</summary>
    public TimeSpan RequestInProgressWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First delay before retrying a transiently failed database batch (doubles up to <see cref="MaxRetryDelay"/>).</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between retries of a transiently failed database batch.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the WAL is truncated below both watermarks (and the database's resolutions and tombstones for the
    /// truncated records are purged), and expired request outcomes are purged (see <see cref="IdempotencyRetention"/>).</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the audit backfill checks for missing entries while the host runs.</summary>
    public TimeSpan AuditBackfillInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>When callers are answered unless a request says otherwise (<see cref="WriteRequest.Ack"/>, HTTP
    /// <c>Prefer: nv-ack=durable|applied|audited</c>). Default <see cref="AckLevel.Applied"/>.</summary>
    public AckLevel Ack { get; set; } = AckLevel.Applied;

    /// <summary>Backpressure, in records: when the audit backlog (applied, not yet audited) or the apply backlog (durable,
    /// not yet applied) exceeds this, new writes wait until it drains below it. Writes are never refused for lag.</summary>
    public int MaxLagRecords { get; set; } = 50_000;

    /// <summary>Backpressure, in time: when the oldest record of the audit or apply backlog has waited longer than this,
    /// new writes wait until it drains.</summary>
    public TimeSpan MaxLagTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Largest number of records the audit stage writes in one batch; its batches grow with the backlog up to it.</summary>
    public int MaxAuditBatchSize { get; set; } = 8192;

    /// <summary>Off the caller's path, the audit stage gathers a batch of at least this many records before it appends
    /// (unless <see cref="AuditGatherTime"/> passes first, or a write of the batch waits for its entry: an
    /// <see cref="AckLevel.Audited"/> caller waits at most one 2 ms step of the gather), so the audit store's per-commit
    /// cost is shared by more entries. 1 appends whatever has arrived at once. At most <see cref="MaxAuditBatchSize"/> and
    /// <see cref="MaxLagRecords"/> count (a gather never waits for records the lag gate holds back).</summary>
    public int AuditGatherRecords { get; set; } = 512;

    /// <summary>The longest the audit stage waits to gather <see cref="AuditGatherRecords"/> records (it adds at most this
    /// to how far the trail trails the database; at most a quarter of <see cref="MaxLagTime"/> counts). Zero appends at
    /// once.</summary>
    public TimeSpan AuditGatherTime { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>How often the stores are made durable (a sync of each SQLite store; nothing to do on MongoDB). Only durable
    /// positions move the WAL's watermarks, so this bounds how much boot replay redoes after a power loss and how long
    /// the WAL keeps records the stores already hold.</summary>
    public TimeSpan DurablePointInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Keep the WAL, the entities and the audit trail in process memory instead of on disk (development and unit
    /// tests of services that embed Nv): the same API and rules, and <b>nothing is durable</b>: every write is lost when the
    /// process stops. Set with <see cref="UseInMemory"/> in <c>AddNv(o =&gt; o.UseInMemory())</c> (it chooses the stores
    /// when the services are registered); <c>nv serve</c> refuses it unless started with <c>--in-memory</c>.</summary>
    public bool InMemory { get; set; }

    /// <summary>Selects the in-memory mode (<see cref="InMemory"/>): not durable, for development and tests only.</summary>
    /// <returns>These options.</returns>
    public PipelineOptions UseInMemory()
    {
        InMemory = true;
        return this;
    }

    /// <summary>Whether an unexpected failure of a pipeline stage (a bug, a corrupt store) stops the host with a non-zero
    /// exit code after every waiting caller was answered (default), so a supervisor restarts it and boot replay recovers.
    /// When false, the pipeline stays faulted (readiness false, writes refused) until the host is restarted.</summary>
    public bool StopHostOnFault { get; set; } = true;

    /// <summary>The last stop of an audit outage: while the WAL holds more than this many bytes (it cannot be truncated
    /// below records still waiting for their audit entries), new writes are refused with a 503 that says so, instead of
    /// filling the disk. 0 turns the limit off. Default 8 GiB.</summary>
    public long MaxWalBytes { get; set; } = 8L << 30;

    /// <summary>The change feed's page budget, in bytes: a consumer reads the feed a page at a time and holds that page until
    /// it has been served, so a page ends after the record whose changes (their after images, plus a little for each
    /// change) reach this, or after 512 records. Always at least one record, so a record larger than this is still served.
    /// Default 4 MiB.</summary>
    /// <remarks>What a consumer holds is about this plus one record's changes (a batch's after images can be larger than
    /// its WAL record when it was compressed); over HTTP, <c>Nv:Http:MaxChangeFeedStreams</c> limits how many hold one.</remarks>
    public int ChangeFeedPageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Accept, once, that a store holds LSNs the WAL no longer has (the WAL was lost or restored from an older
    /// copy): the WAL's LSNs then continue above the highest any store holds, durably, so none is ever reused. Off by
    /// default: Nv refuses to start and says so (exit code 6). Turn it on only after deciding the lost WAL records are
    /// gone for good, and turn it off again afterwards.</summary>
    public bool AcceptStoreAheadOfWal { get; set; }
}
