using Nv.Wal;

namespace Nv.Host.Changes;

/// <summary>The changes a consumer asked for are no longer held: the WAL was truncated (and the database's resolutions
/// purged) past its position. HTTP answers 410 <c>changes-gone</c>.</summary>
/// <remarks>Not transient: the consumer has to resynchronise from the current state (read the entities it needs) and
/// then follow the feed from <see cref="FirstAvailable"/>.</remarks>
public sealed class ChangesGoneException : NvException
{
    /// <summary>Creates the exception.</summary>
    public ChangesGoneException(Lsn requested, Lsn firstAvailable)
        : base($"The change feed no longer holds LSN {requested}: the oldest change held is at LSN {firstAvailable} (the WAL was truncated past the " +
            "requested position). Resynchronise from the current state, then follow the feed from there.")
    {
        Requested = requested;
        FirstAvailable = firstAvailable;
    }

    /// <summary>The LSN the consumer asked for.</summary>
    public Lsn Requested { get; }

    /// <summary>The oldest LSN the feed can still serve.</summary>
    public Lsn FirstAvailable { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
