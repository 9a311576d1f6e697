namespace Nv.Audit;

/// <summary>Fills one page of a query within its <see cref="AuditQuery.MaxBytes"/>: each store asks it before it adds the
/// next entry it read, and ends the page (with its cursor) at the first one refused.</summary>
/// <remarks>The first entry is always taken, however large (a page never comes back empty while entries remain, so a
/// cursor walk always moves on); after it, an entry is taken only if the page stays within the budget. A store holds at
/// most the page and the one entry it read past it.</remarks>
internal sealed class AuditPageBudget
{
    private readonly long? _maxBytes;
    private long _bytes;
    private int _count;

    public AuditPageBudget(AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        _maxBytes = query.MaxBytes;
    }

    /// <summary>Counts <paramref name="entry"/> into the page and says true, or says false (counting nothing) when the
    /// page must end before it.</summary>
    public bool TryAdd(AuditEntry entry)
    {
        if (_maxBytes is not { } max)
        {
            return true;
        }

        var size = AuditEntrySize.Of(entry);
        if (_count > 0 && _bytes + size > max)
        {
            return false;
        }

        _bytes += size;
        _count++;
        return true;
    }
}
