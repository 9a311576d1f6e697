namespace Nv.Audit;

/// <summary>The stable kebab-case names of <see cref="AuditCategory"/> used in storage and in the canonical encoding.</summary>
/// <remarks>These names are persisted and hashed: never rename one. A new category gets a new name.</remarks>
public static class AuditCategoryNames
{
    /// <summary>Returns the stable name of <paramref name="category"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined category.</exception>
    public static string ToName(AuditCategory category) => category switch
    {
        AuditCategory.EntityMutation => "entity-mutation",
        AuditCategory.Authentication => "authentication",
        AuditCategory.Permission => "permission",
        AuditCategory.SystemEvents => "system-events",
        AuditCategory.ServiceStartStop => "service-start-stop",
        AuditCategory.EnvironmentChange => "environment-change",
        AuditCategory.DataErasure => "data-erasure",
        _ => throw new ArgumentOutOfRangeException(nameof(category), category, "Unknown audit category."),
    };

    /// <summary>Parses a stable category name.</summary>
    /// <exception cref="FormatException">The name is not a known category.</exception>
    public static AuditCategory Parse(string name) => name switch
    {
        "entity-mutation" => AuditCategory.EntityMutation,
        "authentication" => AuditCategory.Authentication,
        "permission" => AuditCategory.Permission,
        "system-events" => AuditCategory.SystemEvents,
        "service-start-stop" => AuditCategory.ServiceStartStop,
        "environment-change" => AuditCategory.EnvironmentChange,
        "data-erasure" => AuditCategory.DataErasure,
        _ => throw new FormatException($"Unknown audit category '{name}'."),
    };
}
