using Nv.DbWriter;
using Nv.Host.Pipeline;

namespace Nv.Host.Replay;

/// <summary>Runs a replay on demand, without serving writes: what <c>nv replay</c> does after a crash.</summary>
/// <remarks>Opens the stores, then brings the database and the audit trail in line with the WAL exactly as boot replay
/// does (idempotently). Do not run it while a host with the same WAL is running: the WAL's directory lock refuses
/// that.</remarks>
public sealed class NvReplay
{
    private readonly IDbWriter _db;
    private readonly AuditCoordinator _audit;
    private readonly BootReplayer _replayer;
    private readonly Protection.KeyRing? _keys;

    internal NvReplay(IDbWriter db, AuditCoordinator audit, BootReplayer replayer, Protection.KeyRing? keys = null)
    {
        _keys = keys;
        _db = db;
        _audit = audit;
        _replayer = replayer;
    }

    /// <summary>Replays every durable record the stores do not reflect yet and backfills missing audit entries.</summary>
    /// <param name="dryRun">Count what would be replayed; apply, audit and persist nothing. Opening the log and the stores
    /// still creates what is missing and writes their open/close bookkeeping unless they are read-only
    /// (<see cref="Nv.Wal.WalOptions.ReadOnly"/>, <see cref="DbWriterOptions.ReadOnly"/>, <see cref="Nv.Audit.AuditOptions.ReadOnly"/>),
    /// as <c>nv replay --dry-run</c> opens them.</param>
    /// <param name="progress">Receives (records done, records expected).</param>
    /// <param name="cancellationToken">Stops the replay; what was committed stays committed.</param>
    /// <exception cref="InvalidOperationException">The database stayed unavailable through several retries.</exception>
    /// <exception cref="Nv.Wal.Protection.MasterKeyException">The master key is missing or is not the one the stored data keys were wrapped with.</exception>
    public async Task<ReplaySummary> RunAsync(bool dryRun, Action<long, long>? progress, CancellationToken cancellationToken = default)
    {
        await _db.InitializeAsync(cancellationToken);
        if (_keys is not null)
        {
            await _keys.OpenAsync(cancellationToken);
        }

        await _audit.InitializeAsync(cancellationToken);
        return await _replayer.RunAsync(dryRun, progress, maxTransientRetries: 5, cancellationToken);
    }
}
