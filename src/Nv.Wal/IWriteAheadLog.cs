namespace Nv.Wal;

/// <summary>The durable, group-committed log every mutation is written to before the database.</summary>
/// <remarks>
/// Thread-safe: any number of callers may append and flush concurrently; LSNs are assigned in append order.
/// A record is durable only once a <see cref="FlushAsync"/> covering its LSN has completed; concurrent flushes
/// share one disk sync (group commit). After any write or sync failure the log is <see cref="WalState.Faulted"/>:
/// pending and later appends and flushes throw <see cref="WalFaultedException"/>, and no sync is retried.
/// </remarks>
public interface IWriteAheadLog : IAsyncDisposable
{
    /// <summary>Lifecycle state.</summary>
    WalState State { get; }

    /// <summary>What recovery found when the log was opened.</summary>
    WalRecoveryReport Recovery { get; }

    /// <summary>Last appended record (may not be durable yet).</summary>
    Lsn LastLsn { get; }

    /// <summary>Every record at or below this is durable.</summary>
    Lsn DurableLsn { get; }

    /// <summary>The database reflects every record at or below this (persisted, may lag the truth, never leads it).</summary>
    Lsn AppliedLsn { get; }

    /// <summary>Every applied record at or below this has its audit entry (persisted, may lag, never leads).</summary>
    Lsn AuditedLsn { get; }

    /// <summary>Appends a record and assigns its LSN. The record is not durable until a flush covers it.</summary>
    /// <returns>The record as stored, with <see cref="WalRecord.Lsn"/> set.</returns>
    /// <exception cref="WalFaultedException">The log is faulted.</exception>
    /// <exception cref="WalRecordTooLargeException">The record is too large for the log: nothing was written and the log
    /// is still open (a refusal of this record only, never a fault).</exception>
    ValueTask<WalRecord> AppendAsync(WalRecord record, CancellationToken cancellationToken = default);

    /// <summary>Completes when every record at or below <paramref name="upTo"/> is on disk.</summary>
    /// <exception cref="WalFaultedException">The write or sync failed (now or earlier): nothing past <see cref="DurableLsn"/> is acknowledged.</exception>
    ValueTask FlushAsync(Lsn upTo, CancellationToken cancellationToken = default);

    /// <summary>Makes the next appended LSN <c><paramref name="highestSeen"/> + 1</c>, durably: after data loss, the stores
    /// (database, audit) may hold LSNs above the WAL's last one, and an LSN must never be reused.</summary>
    /// <remarks>
    /// Call it after open and before the first append; a value at or below <see cref="LastLsn"/> changes nothing. The jump
    /// is recorded (checked fsync) before this returns, so it survives a crash before or after the next append and the
    /// truncation of every older record; recovery accepts exactly the recorded jumps and refuses any other gap in the
    /// LSNs. <see cref="LastLsn"/> and <see cref="DurableLsn"/> become <paramref name="highestSeen"/>; reads skip the LSNs
    /// that were never in this log.
    /// </remarks>
    /// <exception cref="InvalidOperationException">A record was appended since the log was opened.</exception>
    /// <exception cref="IOException">The jump could not be made durable; nothing changed.</exception>
    ValueTask ContinueAfterAsync(Lsn highestSeen, CancellationToken cancellationToken = default);

    /// <summary>Reads durable records with LSN at or after <paramref name="from"/>, in LSN order, up to the durable tail at the time of the call.</summary>
    /// <remarks>Every record returned has passed its frame and CRC check; a damaged record throws <see cref="WalCorruptionException"/>, it is never returned.
    /// <see cref="Lsn.None"/> reads from the first record held.</remarks>
    /// <exception cref="WalTruncatedException"><paramref name="from"/> is below the first LSN the log still holds (thrown by the first
    /// <c>MoveNextAsync</c>); or a truncation overtook the read: it returns the records it could still read (in order, none
    /// skipped), then throws naming the next LSN it would have returned.</exception>
    IAsyncEnumerable<WalRecord> ReadAsync(Lsn from, CancellationToken cancellationToken = default);

    /// <summary>Raises the applied watermark (monotonic; lower values are ignored). Persisted by <see cref="PersistWatermarksAsync"/> and periodically.</summary>
    void AdvanceApplied(Lsn lsn);

    /// <summary>Raises the audited watermark (monotonic; lower values are ignored).</summary>
    void AdvanceAudited(Lsn lsn);

    /// <summary>Lowers the watermarks to at most <paramref name="applied"/> and <paramref name="audited"/>, what the stores
    /// themselves hold, where the persisted watermarks lead them (a store restored from a backup or replaced since they
    /// were written); a higher value changes nothing. Persisted like the others.</summary>
    /// <remarks>A watermark must never lead its store: truncation follows the watermarks and would remove records the store
    /// still needs (an audit store behind its watermark would never get their entries). Meant for boot, before any
    /// truncation: one already running keeps the cut it chose.</remarks>
    void LowerWatermarks(Lsn applied, Lsn audited);

    /// <summary>Makes the current watermarks durable (atomic replace + checked fsync of file and directory).</summary>
    ValueTask PersistWatermarksAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes segments that hold only records below both watermarks and past retention.</summary>
    /// <returns>The first LSN still held after truncation.</returns>
    ValueTask<Lsn> TruncateAsync(CancellationToken cancellationToken = default);

    /// <summary>A snapshot of the log's positions and size.</summary>
    WalStatistics GetStatistics();
}
