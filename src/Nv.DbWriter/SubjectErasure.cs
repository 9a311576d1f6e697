using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The record of one erasure, kept by the key store after the subject's keys are gone (no personal data).</summary>
public sealed record SubjectErasure
{
    /// <summary>The erased subject (<c>dtoType/entityId</c>).</summary>
    public required string Subject { get; init; }

    /// <summary>The LSN of the erase record.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>The erase record's id (also its audit entry's id).</summary>
    public required Guid WalId { get; init; }

    /// <summary>The request that asked for it.</summary>
    public required string RequestId { get; init; }

    /// <summary>When the erase record was written (its WAL timestamp).</summary>
    public required DateTimeOffset ErasedAt { get; init; }

    /// <summary>How many data keys were destroyed.</summary>
    public required int KeysDestroyed { get; init; }

    /// <summary>How many live entities were deleted.</summary>
    public required int EntitiesDeleted { get; init; }

    /// <summary>True when the erasure found nothing to erase: no data key of the subject and no live entity of it (a
    /// mistyped entity id, a subject already erased, or one never written).</summary>
    public bool FoundNothing => KeysDestroyed == 0 && EntitiesDeleted == 0;
}
