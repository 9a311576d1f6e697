namespace Nv.Host.Http;

/// <summary>Limits of the HTTP API (section <c>Nv:Http</c>).</summary>
public sealed class HttpOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Http";

    /// <summary>Largest request body accepted, in bytes (Kestrel's <c>MaxRequestBodySize</c>; larger bodies get 413 unread).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Deepest JSON nesting the body parser accepts before refusing (400) — the pipeline's own limit is checked after.</summary>
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>Default audit page size.</summary>
    public int DefaultAuditPageSize { get; set; } = 100;

    /// <summary>Largest audit page size a caller may ask for.</summary>
    public int MaxAuditPageSize { get; set; } = 1000;

    /// <summary>Most change-feed streams (<c>GET /v1/changes</c>) open at once; one more is answered 503
    /// <c>changes-busy</c> with <c>Retry-After</c>, and a slot frees when a stream ends. Default 32 (1 to 10,000).</summary>
    /// <remarks>Each stream holds up to a page of changes while its client is slow (<c>Nv:Pipeline:ChangeFeedPageBytes</c>,
    /// 4 MiB, plus one record), so this times that bounds what the streams hold together. In-process consumers
    /// (<c>IChangeFeed</c>) are not counted.</remarks>
    public int MaxChangeFeedStreams { get; set; } = 32;
}
