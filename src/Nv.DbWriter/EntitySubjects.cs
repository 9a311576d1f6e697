namespace Nv.DbWriter;

/// <summary>The subject an entity belongs to by default (itself, <c>dtoType/entityId</c>), and the names under which
/// both writers record a completed pass of <see cref="IDataKeyStore.MapStoredEntitiesAsync"/>.</summary>
internal static class EntitySubjects
{
    /// <summary>The meta entries recording completed mapping passes start with this.</summary>
    public const string PassPrefix = "entity_mapping:";

    /// <summary>Sorts after every name starting with <see cref="PassPrefix"/> (its last character, the next one up).</summary>
    public const string PassEnd = "entity_mapping;";

    public static string Own(string dtoType, string entityId) => dtoType + "/" + entityId;

    /// <summary>Whether <paramref name="subject"/> is the entity's own (no <c>_nv_subjects</c> entry needed).</summary>
    public static bool IsOwn(string? subject, string dtoType, string entityId) =>
        subject is not null && subject.Length == dtoType.Length + 1 + entityId.Length && subject.StartsWith(dtoType, StringComparison.Ordinal)
        && subject[dtoType.Length] == '/' && subject.EndsWith(entityId, StringComparison.Ordinal);

    /// <summary>The meta entry recording a completed pass under <paramref name="rule"/>.</summary>
    public static string Pass(SubjectMappingRule rule) => PassPrefix + rule.DtoType + "=" + rule.Rule;
}
