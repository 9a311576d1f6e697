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

    /// <summary>Id of the WAL record (or batch item) that last wrote it.</summary>
    public required Guid WalId { get; init; }

    /// <summary>The DTO schema version the document was written with: the version part of <see cref="ReplayKey"/>
    /// (<c>env:slug:version:dtoType:entityId</c>), stored with every entity; 1 when the key does not parse.</summary>
    public int DtoVersion
    {
        get
        {
            var parts = ReplayKey.Split(':', 4);
            return parts.Length == 4 && int.TryParse(parts[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)
                ? v
                : 1;
        }
    }
}
