using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>An entity's state as of the last write the database applied to it (<see cref="IWritePipeline.ReadAsync"/>).</summary>
public sealed record EntitySnapshot
{
    /// <summary>Entity type.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entity id.</summary>
    public required string EntityId { get; init; }

    /// <summary>The entity state (a JSON object).</summary>
    public required JsonElement Document { get; init; }

    /// <summary>The LSN of the write that produced this state: the entity's version. Pass it as
    /// <see cref="WriteRequest.ExpectedLsn"/> to update or delete only if nobody changed the entity since this read.</summary>
    public required Lsn Lsn { get; init; }

    /// <summary>The state as <typeparamref name="T"/>.</summary>
    /// <param name="options">Serializer options (null: the defaults).</param>
    public T? Deserialize<T>(JsonSerializerOptions? options = null) => Document.Deserialize<T>(options);
}
