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

    /// <summary>Most bytes one audit page holds (about its entries' JSON: images, field changes, text); the page ends
    /// before the entry that would pass it, with a <c>nextCursor</c> that continues right after, so nothing is skipped. A
    /// page holds at least one entry, however large. Default 4 MiB (64 KiB to 256 MiB).</summary>
    /// <remarks>Entries can be megabytes each (an entity's before and after images and their diff), so a page of 1,000
    /// could hold gigabytes; this, times <see cref="MaxConcurrentAuditQueries"/>, bounds what audit readers hold.</remarks>
    public long MaxAuditPageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most audit queries (the paged lists under <c>/v1/audit</c> and time travel) running at once; one more is
    /// answered 503 <c>audit-busy</c> with <c>Retry-After: 1</c>. Default 8 (1 to 1,000).</summary>
    public int MaxConcurrentAuditQueries { get; set; } = 8;

    /// <summary>Most chain verifications (<c>GET /v1/audit/verify</c>, a scan of the whole trail) running at once; one
    /// more is answered 503 <c>audit-busy</c> with <c>Retry-After: 5</c>. Default 1 (1 to 64).</summary>
    public int MaxConcurrentAuditVerifications { get; set; } = 1;

    /// <summary>Most change-feed streams (<c>GET /v1/changes</c>) open at once; one more is answered 503
    /// <c>changes-busy</c> with <c>Retry-After</c>, and a slot frees when a stream ends. Default 32 (1 to 10,000).</summary>
    /// <remarks>Each stream holds up to a page of changes while its client is slow (<c>Nv:Pipeline:ChangeFeedPageBytes</c>,
    /// 4 MiB, plus one record), so this times that bounds what the streams hold together. In-process consumers
    /// (<c>IChangeFeed</c>) are not counted.</remarks>
    public int MaxChangeFeedStreams { get; set; } = 32;

    /// <summary>Most change-feed streams one API key may hold open at once, so one reader cannot take every
    /// <see cref="MaxChangeFeedStreams"/> slot; one more is answered 429 <c>too-many-streams</c> with <c>Retry-After</c>.
    /// Default 8 (1 to 10,000; above <see cref="MaxChangeFeedStreams"/> it is that). Not applied with authentication off
    /// (no keys: every caller is local).</summary>
    public int MaxChangeFeedStreamsPerKey { get; set; } = 8;

    /// <summary>Most connections Kestrel keeps open at once (its <c>Limits.MaxConcurrentConnections</c>); one more is closed
    /// as soon as it is accepted. Default 1000 (1 to 1,000,000).</summary>
    public int MaxConcurrentConnections { get; set; } = 1000;

    /// <summary>The window of the denial audit limits: per window, each remote address gets at most
    /// <see cref="DenialAuditsPerAddress"/> denials (401/403) written as entries of their own, and the host at most
    /// <see cref="DenialAuditsPerWindow"/>; the rest are counted and, at the window's end, written as one
    /// <c>denials-summarized</c> entry per address and kind. Default 1 minute (1 s to 1 h).</summary>
    public TimeSpan DenialAuditWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Denials from one remote address (an IPv4 address, or an IPv6 /64) written as entries of their own per
    /// <see cref="DenialAuditWindow"/>. Default 10 (0 to 10,000; 0: every denial is only counted).</summary>
    public int DenialAuditsPerAddress { get; set; } = 10;

    /// <summary>Denials written as entries of their own per <see cref="DenialAuditWindow"/>, from all addresses together.
    /// Default 100 (0 to 100,000).</summary>
    public int DenialAuditsPerWindow { get; set; } = 100;

    /// <summary>Remote addresses counted one by one per <see cref="DenialAuditWindow"/> (what the counts hold in memory);
    /// denials from further addresses are counted together, under the address <c>other</c>. Default 1000 (1 to 100,000).</summary>
    public int DenialAuditAddresses { get; set; } = 1000;
}
