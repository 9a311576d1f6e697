using Nv.DbWriter;
using Nv.Host.Diagnostics;
using Nv.Host.Protection;
using Nv.Wal;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Erasure is a WAL record like any write (so a crash at any step converges: boot replay applies and audits it), written
    // through the same stages with ack=audited, then made durable in both stores and scrubbed from the entity store's
    // files before the caller hears back.
    /// <inheritdoc />
    public async Task<WriteOutcome> EraseAsync(EraseRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckErasure(_keys, request);
        // Another spelling of a stored type is refused with the other writes' (PrepareForWal): subjects are
        // case-sensitive, so such an erasure would find no keys and erase nothing.
        var outcome = await WriteOrEraseAsync(ToWriteRequest(request), cancellationToken);

        if (outcome.Status == WriteStatus.Applied)
        {
            // Durable in both stores (a power loss cannot bring the keys back), then no copy of the deleted rows is left in
            // the entity store's WAL file. A retry of the request id comes here too and scrubs again (harmless).
            await MakeStoresDurableAsync(cancellationToken);
            CrashPoints.Hit(CrashPoints.EraseBeforeScrub);
            // A TRUNCATE checkpoint cannot finish while a reader uses the WAL file (SQLite waits the busy timeout first).
            var store = _db as IDataKeyStore;
            var scrubbed = store is null || await store.ScrubAsync(cancellationToken);
            Log.ErasureCompleted(_logger, SubjectResolver.Of(request.DtoType, request.EntityId), outcome.Lsn.Value, scrubbed);
            outcome = await WithErasureAsync(outcome, WalOperation.Erase, request.DtoType, request.EntityId, cancellationToken);
            if (!scrubbed)
            {
                // Erased (the keys are gone for good), but the store's files may still hold the erased rows: SQLite while a
                // reader holds its WAL file (a retry or the next start empties it), MongoDB always (its journal, oplog and
                // free space are beyond a client's reach). The caller hears which.
                var unscrubbed = store!.UnscrubbedDetail ?? Unscrubbed;
                var nothing = outcome.Erasure is { FoundNothing: true } ? outcome.Detail : null;
                return outcome with { Detail = nothing is null ? unscrubbed : nothing + " " + unscrubbed, Unscrubbed = true };
            }
        }

        return outcome;
    }

    // What an applied erasure destroyed, as recorded when it was first applied: every answer about it (its own, a retry's
    // in this process or after a restart, an outcome lookup by request id) reads the same record, so says the same counts
    // (and that nothing was found, when so). Any other outcome is returned as it is.
    private async Task<WriteOutcome> WithErasureAsync(WriteOutcome outcome, WalOperation? operation, string? dtoType, string? entityId,
        CancellationToken cancellationToken)
    {
        if (operation != WalOperation.Erase || outcome.Status != WriteStatus.Applied || outcome.Erasure is not null || _db is not IDataKeyStore store)
        {
            return outcome;
        }

        var erasure = await store.FindErasureAsync(outcome.Lsn, cancellationToken);
        var nothing = erasure is { FoundNothing: true } ? NothingFound(dtoType, entityId) : null;
        return outcome with { Erasure = erasure, Detail = nothing ?? outcome.Detail };
    }

    // The detail of an erasure that found no data key and no live entity of its subject: still a success (an erasure is
    // idempotent, and it is recorded and audited), but the caller must be able to tell it from one that destroyed data.
    internal static string NothingFound(string? dtoType, string? entityId) =>
        $"Nothing was found to erase: {dtoType}/{entityId} has no data key and no live entity (erased before, never written, "
        + "or a mistyped entity id or dtoType: subjects are case-sensitive). The erasure is recorded and audited all the same.";

    // What an erasure must pass besides the checks of every write (RequestValidator, run on ToWriteRequest). nv erase runs
    // both before it starts the host (EncryptionStartup.CheckErasure), so a refused erasure writes nothing at all.
    internal static void CheckErasure(KeyRing keys, EraseRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!keys.Enabled)
        {
            throw new WriteValidationException("subject",
                "cannot be erased: encryption at rest is off (set NV_MASTER_KEY_FILE), so the WAL and the audit trail hold its data in plain text and no key can be destroyed");
        }

        if (keys.Subjects.RuleFor(request.DtoType) is { } rule)
        {
            // Its entities are sealed under another subject's key: destroying "its" key would destroy nothing.
            throw new WriteValidationException("dtoType",
                $"{request.DtoType} entities are sealed under the {rule.Type} their '{rule.Field}' field names (Nv:Encryption:Subjects:{request.DtoType}), "
                + $"so {request.DtoType}/{request.EntityId} is not a data subject of its own: erase that {rule.Type} instead, which erases its {request.DtoType} entities too. Nothing was written.");
        }

        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            throw new WriteValidationException("reason", "is required for an erasure");
        }
    }

    // The WAL record an erasure is written as (always ack=audited).
    internal static WriteRequest ToWriteRequest(EraseRequest request) => new()
    {
        RequestId = request.RequestId,
        Operation = WalOperation.Erase,
        DtoType = request.DtoType,
        EntityId = request.EntityId,
        UserId = request.UserId,
        Reason = request.Reason,
        Metadata = request.Metadata,
        Ack = AckLevel.Audited,
    };

    // The default detail of an unscrubbed erasure (IDataKeyStore.UnscrubbedDetail null: the SQLite store).
    internal const string Unscrubbed = "Erased: the subject's keys are destroyed. The entity store's WAL file (nv.db-wal) could not be emptied yet (a reader "
        + "held it), so it still holds page images of the erased rows; retry the erasure (same request id) or restart to empty it.";
}
