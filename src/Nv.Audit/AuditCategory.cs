namespace Nv.Audit;

/// <summary>The kind of event an audit entry records.</summary>
public enum AuditCategory
{
    /// <summary>A create, update or delete of an entity.</summary>
    EntityMutation = 1,

    /// <summary>A failed or notable authentication.</summary>
    Authentication = 2,

    /// <summary>An authorization decision (e.g. a denied request).</summary>
    Permission = 3,

    /// <summary>Other system events (recovery, replay).</summary>
    SystemEvents = 4,

    /// <summary>The service started or stopped.</summary>
    ServiceStartStop = 5,

    /// <summary>The service's environment or configuration changed.</summary>
    EnvironmentChange = 6,

    /// <summary>A data subject was erased (crypto-shredding): its data keys destroyed, its live entities deleted. The entry
    /// names the subject, who asked and why; it holds no personal data.</summary>
    DataErasure = 7,
}
