using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The current state of a live entity as stored by a writer.</summary>
public sealed record StoredEntity
{
    /// <summary>Entity type.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entity id.</summary>
    public required string EntityId { get; init; }

    /// <summary>The entity state (JSON object).</summary>
    public required JsonElement Document { get; init; }

    /// <summary>LSN of the record that last wrote it; also its concurrency version (ETag).</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>Replay key of its slot.</summary>
    public required string ReplayKey { get; init; }

    /// <summary>Id of the WAL record that last wrote it.</summary>
    public required Guid WalId { get; init; }
}
