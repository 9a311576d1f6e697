using Nv.Audit;

namespace Nv.Host.Pipeline;

internal sealed partial class WritePipeline
{
    // Reads go straight to the stores: the database answers entity reads (a write answered Applied or Audited is visible
    // to the next read on this host), the audit store answers audit queries (an entry lags its write unless the write
    // asked for AckLevel.Audited). Both are refused until boot replay has finished, since until then the stores may not
    // yet reflect acknowledged writes. After that, reads keep working while the pipeline is faulted or stopping.

    /// <inheritdoc />
    public async Task<EntitySnapshot?> ReadAsync(string dtoType, string entityId, CancellationToken cancellationToken = default)
    {
        CheckEntityKey(dtoType, entityId);
        ThrowIfNotStarted();
        var stored = await _db.GetAsync(dtoType, entityId, cancellationToken);
        return stored is null ? null : new EntitySnapshot
        {
            DtoType = stored.DtoType,
            EntityId = stored.EntityId,
            Document = stored.Document,
            Lsn = stored.Lsn,
        };
    }

    /// <inheritdoc />
    public Task<AuditPage> GetHistoryAsync(string dtoType, string entityId, string? cursor = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        CheckEntityKey(dtoType, entityId);
        return QueryAuditAsync(new AuditQuery
        {
            DtoType = dtoType,
            EntityId = entityId,
            Category = AuditCategory.EntityMutation,
            Cursor = cursor,
            Limit = limit,
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditEntry>> GetAuditByRequestAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var entries = new List<AuditEntry>();
        string? cursor = null;
        do
        {
            var page = await QueryAuditAsync(new AuditQuery { RequestId = requestId, Ascending = true, Cursor = cursor, Limit = MaxAuditPage }, cancellationToken);
            entries.AddRange(page.Entries);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return entries;
    }

    /// <inheritdoc />
    public async Task<AuditPage> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1, nameof(query));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, MaxAuditPage, nameof(query));
        ThrowIfNotStarted();
        try
        {
            // Sealed entries are opened with their subjects' keys; an erased subject's entries read as erased.
            return AuditEntrySealing.OpenWith(await _audit.Sink.QueryAsync(query, cancellationToken), _keys.Enabled ? _keys : null);
        }
        catch (Exception ex) when (AuditUnavailableException.IsStoreFailure(ex))
        {
            throw new AuditUnavailableException("The audit store could not answer the query: " + ex.Message, ex);
        }
    }

    private const int MaxAuditPage = 1000;

    private void ThrowIfNotStarted()
    {
        if (Volatile.Read(ref _started) == 0)
        {
            throw new PipelineUnavailableException("Nv is not ready: boot replay has not finished.", null);
        }
    }

    private static void CheckEntityKey(string dtoType, string entityId)
    {
        ArgumentNullException.ThrowIfNull(dtoType);
        ArgumentNullException.ThrowIfNull(entityId);
        if (!RequestValidator.IsValidDtoType(dtoType))
        {
            throw new ArgumentException("dtoType must start with a letter, contain only letters, digits and '_', and be at most 64 characters.", nameof(dtoType));
        }

        if (entityId.Length is 0 or > RequestValidator.MaxEntityIdLength || entityId.Any(char.IsControl))
        {
            throw new ArgumentException($"entityId must be 1-{RequestValidator.MaxEntityIdLength} characters without control characters.", nameof(entityId));
        }
    }
}
