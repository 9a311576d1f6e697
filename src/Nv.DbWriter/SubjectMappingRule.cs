using System.Text.Json;

namespace Nv.DbWriter;

/// <summary>A dtoType whose entities are sealed under the subject a payload field names (encryption at rest), as
/// <see cref="IDataKeyStore.MapStoredEntitiesAsync"/> takes it.</summary>
public sealed record SubjectMappingRule
{
    /// <summary>The mapped dtoType.</summary>
    public required string DtoType { get; init; }

    /// <summary>The rule as configured (<c>SubjectType:payloadField</c>): a complete pass is recorded under it, and a
    /// changed rule gets a pass of its own.</summary>
    public required string Rule { get; init; }

    /// <summary>The payload field that names the subject (the store may read only that field of each entity).</summary>
    public required string Field { get; init; }

    /// <summary>The subject a stored payload names, or null when it names none.</summary>
    public required Func<JsonElement, string?> SubjectOf { get; init; }
}
