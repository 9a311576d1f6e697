using Microsoft.Extensions.Logging;
using Nv.Audit.Archive;

namespace Nv.Host.Pipeline;

/// <summary>Retention (<c>Nv:Audit:Retention</c>), run by the pipeline's maintenance loop: the store prunes the ranges of
/// recorded archives whose entries are all older than the window, after verifying each archive again.</summary>
/// <remarks>Not under the coordinator's lock: the store serialises each chunk with appends itself, so the audit stage waits
/// for one chunk at most, never for a whole prune. Never throws for audit failures.</remarks>
internal sealed partial class AuditCoordinator
{
    /// <summary>Prunes what retention allows; returns the ranges pruned (none when retention is off or the store has no
    /// archives).</summary>
    public async Task<IReadOnlyList<AuditPruneResult>> ApplyRetentionAsync(CancellationToken cancellationToken)
    {
        if (_auditOptions?.Retention is not { } retention || _sink is not IAuditRetention store)
        {
            return [];
        }

        try
        {
            return await store.PruneAsync(_time.GetUtcNow() - retention, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RetentionFailed(_logger, ex);
            return [];
        }
    }
}
