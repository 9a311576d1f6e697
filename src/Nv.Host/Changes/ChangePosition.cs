using System.Globalization;
using Nv.Wal;

namespace Nv.Host.Changes;

/// <summary>A place in the change feed: an LSN and, within a batch, an item index.</summary>
/// <remarks>Text form (the SSE event id) names where to resume: <c>"42"</c> means LSN 42 fully consumed (the change of a single
/// write at LSN 42, or the last item of the batch at LSN 42 a consumer gets), <c>"42.3"</c> item 3 of the batch at LSN 42
/// with more to come. A batch's items share one LSN, so the item index is what lets a consumer that disconnected in the
/// middle of a batch resume at the next item, neither skipping nor repeating one; and the plain form on its last item is what
/// lets a consumer that got the whole batch resume after it once the batch was truncated (resuming at item 4 of LSN 42 would
/// be "gone": the feed cannot tell that item 3 was the last).</remarks>
/// <param name="Lsn">The LSN; <see cref="Lsn.None"/> as a start means the oldest change still held.</param>
/// <param name="Item">The item index within a batch (0 for a single write).</param>
public readonly record struct ChangePosition(Lsn Lsn, int Item) : IComparable<ChangePosition>
{
    /// <summary>The first change at or after <paramref name="lsn"/>.</summary>
    public static ChangePosition At(Lsn lsn) => new(lsn, 0);

    /// <inheritdoc />
    public int CompareTo(ChangePosition other) => Lsn != other.Lsn ? Lsn.CompareTo(other.Lsn) : Item.CompareTo(other.Item);

    /// <summary>The event id of a change: <c>"lsn"</c> (the record fully consumed), or <c>"lsn.item"</c> for a batch item with
    /// more of its batch to come.</summary>
    public static string Format(Lsn lsn, int? item) => item is { } i
        ? string.Create(CultureInfo.InvariantCulture, $"{lsn.Value}.{i}")
        : lsn.Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses an event id (<c>Last-Event-ID</c>) into the position right after that change: <c>"42"</c> gives the
    /// start of LSN 43, <c>"42.3"</c> item 4 of LSN 42 (also from ids of builds that gave a batch's last item that form).</summary>
    /// <returns>False when the text is not an event id the feed issued.</returns>
    public static bool TryParseAfter(string? eventId, out ChangePosition next)
    {
        next = default;
        if (string.IsNullOrEmpty(eventId) || eventId.Length > 40)
        {
            return false;
        }

        var dot = eventId.IndexOf('.', StringComparison.Ordinal);
        var lsnText = dot < 0 ? eventId : eventId[..dot];
        if (!long.TryParse(lsnText, NumberStyles.None, CultureInfo.InvariantCulture, out var lsn) || lsn < 1)
        {
            return false;
        }

        if (dot < 0)
        {
            // No LSN follows long.MaxValue (lsn + 1 wrapped to long.MinValue, a position "gone" from the WAL): not an id the
            // feed could have sent, like the item index int.MaxValue below.
            if (lsn == long.MaxValue)
            {
                return false;
            }

            next = new ChangePosition(new Lsn(lsn + 1), 0);
            return true;
        }

        if (!int.TryParse(eventId[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var item) || item == int.MaxValue)
        {
            return false;
        }

        next = new ChangePosition(new Lsn(lsn), item + 1);
        return true;
    }

    /// <summary>The position as text, <c>"lsn.item"</c>.</summary>
    public override string ToString() => Format(Lsn, Item);

    /// <summary>Whether <paramref name="left"/> comes before <paramref name="right"/>.</summary>
    public static bool operator <(ChangePosition left, ChangePosition right) => left.CompareTo(right) < 0;

    /// <summary>Whether <paramref name="left"/> comes after <paramref name="right"/>.</summary>
    public static bool operator >(ChangePosition left, ChangePosition right) => left.CompareTo(right) > 0;

    /// <summary>Whether <paramref name="left"/> is at or before <paramref name="right"/>.</summary>
    public static bool operator <=(ChangePosition left, ChangePosition right) => left.CompareTo(right) <= 0;

    /// <summary>Whether <paramref name="left"/> is at or after <paramref name="right"/>.</summary>
    public static bool operator >=(ChangePosition left, ChangePosition right) => left.CompareTo(right) >= 0;
}
