namespace Nv.Host.Http;

/// <summary>One page of audit entries; pass <paramref name="NextCursor"/> as <c>cursor</c> to get the next (null on the last page).</summary>
internal sealed record AuditPageView(IReadOnlyList<AuditEntryView> Entries, string? NextCursor);
