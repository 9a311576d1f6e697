using Nv.Wal;

namespace Nv.Host.Replay;

/// <summary>A store and the WAL disagree in a way replay cannot repair: the store holds LSNs the WAL never issued (data
/// ahead of the WAL: the WAL lost records), or the store misses records the WAL no longer holds (the store was replaced
/// by an older copy, or deleted).</summary>
/// <remarks>Nv refuses to start rather than reuse an LSN or silently lose records; the message names both positions and
/// the ways forward. The <c>nv</c> executable exits with code 6.</remarks>
public sealed class StoreWalMismatchException : NvException
{
    /// <summary>Creates the exception.</summary>
    public StoreWalMismatchException(string store, Lsn storeLsn, Lsn walFirst, Lsn walLast, bool storeAhead)
        : base(Describe(store, storeLsn, walFirst, walLast, storeAhead))
    {
        Store = store;
        StoreLsn = storeLsn;
        WalFirst = walFirst;
        WalLast = walLast;
        StoreAhead = storeAhead;
    }

    /// <summary>The store: <c>database</c> or <c>audit</c>.</summary>
    public string Store { get; }

    /// <summary>The store's position: when ahead, the highest LSN it holds (database: <c>IDbWriter.GetHighestLsnHeldAsync</c>;
    /// audit: audited through); when behind, how far it is resolved (database: resolved through).</summary>
    public Lsn StoreLsn { get; }

    /// <summary>The first LSN the WAL holds.</summary>
    public Lsn WalFirst { get; }

    /// <summary>The last LSN the WAL holds.</summary>
    public Lsn WalLast { get; }

    /// <summary>True when the store is ahead of the WAL; false when it is behind what the WAL still holds.</summary>
    public bool StoreAhead { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;

    private static string Describe(string store, Lsn storeLsn, Lsn walFirst, Lsn walLast, bool storeAhead) => storeAhead
        ? $"The {store} holds LSN {storeLsn.Value}, but the WAL ends at LSN {walLast.Value}: records the store reflects are missing from the WAL "
          + "(the WAL was lost, restored from an older copy, or cut). Nv will not reuse LSNs. Restore the WAL that belongs to this store, "
          + "or accept the loss explicitly with Nv__Pipeline__AcceptStoreAheadOfWal=true (LSNs then continue above the highest the stores hold)."
        : $"The {store} holds LSN {storeLsn.Value}, but the WAL starts at LSN {walFirst.Value}: records {storeLsn.Value + 1}..{walFirst.Value - 1} "
          + "are in neither (the store was replaced by an older copy or deleted). Restore the store from a copy at or after LSN "
          + $"{walFirst.Value - 1}; nothing was written.";
}
