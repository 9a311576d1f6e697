namespace Nv.Audit;

/// <summary>A filter over the audit trail; every set field must match. Results are ordered by (timestamp, id), newest first unless <see cref="Ascending"/>.</summary>
public sealed record AuditQuery
{
    /// <summary>Parses a query time: ISO-8601, at most 64 characters; a time without an offset is taken as UTC.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset time)
    {
        time = default;
        return !string.IsNullOrEmpty(text)
            && text.Length <= 64
            && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>Whether <paramref name="cursor"/> is a cursor this version of Nv returns with a page (the next page's
    /// cursor); a query given any other cursor is refused.</summary>
    public static bool IsValidCursor(string? cursor)
    {
        if (cursor is null)
        {
            return false;
        }

        try
        {
            AuditCursor.Decode(cursor);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Match this request id.</summary>
    public string? RequestId { get; init; }

    /// <summary>Match this entity type.</summary>
    public string? DtoType { get; init; }

    /// <summary>Match this entity id.</summary>
    public string? EntityId { get; init; }

    /// <summary>Match this user.</summary>
    public string? UserId { get; init; }

    /// <summary>Match this service.</summary>
    public string? Service { get; init; }

    /// <summary>Match this category.</summary>
    public AuditCategory? Category { get; init; }

    /// <summary>Match this operation.</summary>
    public string? Operation { get; init; }

    /// <summary>Timestamp at or after.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Timestamp before.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Opaque cursor returned by the previous page.</summary>
    public string? Cursor { get; init; }

    /// <summary>Page size (1..1000).</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Most bytes a page may hold, or null for no bound but <see cref="Limit"/>: the page ends before the entry
    /// that would take it past this (about the size of the entries' JSON: their images, field changes and text), with a
    /// <see cref="AuditPage.NextCursor"/> that continues right after its last entry, so a cursor walk still returns every
    /// entry exactly once. A page holds at least one entry, however large. Bounds what one query holds in memory, where
    /// entries can be megabytes each.</summary>
    public long? MaxBytes { get; init; }

    /// <summary>Oldest first instead of newest first.</summary>
    public bool Ascending { get; init; }
}
