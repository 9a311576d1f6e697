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

    /// <summary>Largest number of writes in one WAL sync / database transaction.</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>Records per database transaction (and per audit append) during boot replay. Larger batches mean fewer
    /// durable commits and fewer rewrites of the same index pages; each batch is held in memory by up to four stages.</summary>
    public int ReplayBatchSize { get; set; } = 8192;

    /// <summary>Request ids remembered in memory for idempotent retries (older ones are found in the database).</summary>
    public int RequestIdCacheSize { get; set; } = 100_000;

    /// <summary>First delay before retrying a transiently failed database batch (doubles up to <see cref="MaxRetryDelay"/>).</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between retries of a transiently failed database batch.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the WAL is truncated below both watermarks (and the database's resolutions and tombstones for the
    /// truncated records are purged). Request ids older than the truncation point are no longer recognised as retries.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often the audit backfill checks for missing entries while the host runs.</summary>
    public TimeSpan AuditBackfillInterval { get; set; } = TimeSpan.FromSeconds(5);
}
