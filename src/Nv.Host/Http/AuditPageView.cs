namespace Nv.Host.Http;

/// <summary>One page of audit entries; pass <paramref name="NextCursor"/> as <c>cursor</c> to get the next (null on the last page).</summary>
/// <param name="Entries">The entries of this page.</param>
/// <param name="NextCursor">The cursor of the next page, or null on the last page.</param>
public sealed record AuditPageView(IReadOnlyList<AuditEntryView> Entries, string? NextCursor);
