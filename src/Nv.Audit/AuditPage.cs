namespace Nv.Audit;

/// <summary>One page of audit query results.</summary>
/// <param name="Entries">The entries on this page.</param>
/// <param name="NextCursor">Cursor for the next page, or null when this is the last.</param>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, string? NextCursor);
