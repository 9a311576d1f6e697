namespace Nv.Host.Http.Auth;

/// <summary>The roles an API key can hold.</summary>
public static class NvRoles
{
    /// <summary>Entity writes (POST, PUT, PATCH, DELETE).</summary>
    public const string Writer = "writer";

    /// <summary>Entity reads (GET current state).</summary>
    public const string Reader = "reader";

    /// <summary>Audit trail queries, history and time travel.</summary>
    public const string Auditor = "auditor";

    /// <summary>Operations: metrics and WAL statistics.</summary>
    public const string Operator = "operator";

    /// <summary>Recording a service's own audit events (<c>POST /v1/audit/events</c>); reading the trail is <see cref="Auditor"/>.</summary>
    public const string AuditWriter = "audit-writer";

    /// <summary>Every role.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Writer, Reader, Auditor, Operator, AuditWriter };
}
