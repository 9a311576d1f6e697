using System.Text.Json;
using Nv.Audit.Diff;
using Nv.Wal;

namespace Nv.Audit;

/// <summary>Builds audit entries: entity mutations from WAL records, and system, authentication and permission events.</summary>
/// <remarks>Entity-mutation entries are a pure function of the WAL record and its before/after images: the id is the
/// record id and the timestamp the record's, so an entry written on time and one backfilled after a crash are
/// identical and the sink's idempotent append stores it once. The write's DTO schema version is recorded in the
/// metadata as <see cref="DtoVersionKey"/>. Required fields (requestId, entityId, operation,
/// service) are checked here and throw <see cref="ArgumentException"/>.</remarks>
public static class AuditEntryFactory
{
    /// <summary>Operation name of a service-start entry.</summary>
    public const string ServiceStartOperation = "service-start";

    /// <summary>Operation name of a service-stop entry.</summary>
    public const string ServiceStopOperation = "service-stop";

    /// <summary>Operation name of an authentication failure entry.</summary>
    public const string AuthenticationFailedOperation = "authentication-failed";

    /// <summary>Operation name of a permission-denied entry.</summary>
    public const string PermissionDeniedOperation = "permission-denied";

    /// <summary>Operation name of the entry that counts the denials (401 or 403, by its category) from one remote address
    /// in one window that were not written as entries of their own.</summary>
    public const string DenialsSummarizedOperation = "denials-summarized";

    /// <summary>The metadata key under which an entity-mutation entry records the DTO schema version of its write.</summary>
    /// <remarks>Caller metadata keys may not contain '.', so this key never collides with one; as part of the metadata it
    /// is covered by the hash chain and the Merkle tree like every other field.</remarks>
    public const string DtoVersionKey = "nv.dtoVersion";

    /// <summary>Operation name of the entry Nv writes after boot replay (system-events).</summary>
    public const string ReplayFinishedOperation = "replay-finished";

    /// <summary>Operation name of an environment-change entry.</summary>
    public const string EnvironmentChangedOperation = "environment-changed";

    /// <summary>The audit operation name of a WAL operation: <c>create</c>, <c>update</c>, <c>delete</c> or
    /// <c>audit-event</c> or <c>erase</c> (the name a WAL record hash encodes; an audit event's entry has its own operation).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined operation.</exception>
    public static string OperationName(WalOperation operation) => operation switch
    {
        WalOperation.Create => "create",
        WalOperation.Update => "update",
        WalOperation.Delete => "delete",
        WalOperation.AuditEvent => "audit-event",
        WalOperation.Erase => "erase",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown WAL operation."),
    };

    /// <summary>Builds the entity-mutation entry of an applied WAL record (for an erase record, its <c>data-erasure</c>
    /// entry: the subject, who, why and when, never an image).</summary>
    /// <param name="record">The applied record.</param>
    /// <param name="before">The entity before the write; null when it did not exist.</param>
    /// <param name="after">The entity after the write; null for a delete.</param>
    /// <exception cref="ArgumentException">A required field (requestId, entityId, service) is missing, or the operation is unknown.</exception>
    public static AuditEntry FromWalRecord(WalRecord record, JsonElement? before, JsonElement? after)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Operation == WalOperation.AuditEvent)
        {
            // A custom event's entry comes from the record alone: there is no entity, so no before image to read.
            return AuditEvents.ToEntry(record);
        }

        RequireText(record.RequestId, "record.RequestId");
        RequireText(record.EntityId, "record.EntityId");
        RequireText(record.Service, "record.Service");
        RequireText(record.DtoType, "record.DtoType");
        var erasure = record.Operation == WalOperation.Erase;
        var beforeCopy = erasure ? null : before?.Clone();
        var afterCopy = erasure ? null : after?.Clone();
        return new AuditEntry
        {
            Id = record.Id,
            Timestamp = record.Timestamp,
            Service = record.Service,
            Category = erasure ? AuditCategory.DataErasure : AuditCategory.EntityMutation,
            Operation = OperationName(record.Operation),
            UserId = record.UserId,
            DtoType = record.DtoType,
            EntityId = record.EntityId,
            Before = beforeCopy,
            After = afterCopy,
            Changes = JsonDiff.Compute(beforeCopy, afterCopy),
            Reason = record.Reason,
            Metadata = WithDtoVersion(record.Metadata, record.Version),
            RequestId = record.RequestId,
            Lsn = record.Lsn == Lsn.None ? null : record.Lsn,
            WalRecordHash = WalRecordHasher.Compute(record),
        };
    }

    /// <summary>Builds the entity-mutation entry of an applied WAL record whose after image is its payload (null for deletes).</summary>
    /// <param name="record">The applied record.</param>
    /// <param name="before">The entity before the write; null when it did not exist.</param>
    /// <exception cref="ArgumentException">A required field is missing, or the operation is unknown.</exception>
    public static AuditEntry FromWalRecord(WalRecord record, JsonElement? before)
    {
        ArgumentNullException.ThrowIfNull(record);
        return FromWalRecord(record, before, record.Operation is WalOperation.Delete or WalOperation.Erase || record.PayloadUnavailable ? null : record.Payload);
    }

    /// <summary>Builds a service-start entry (subject: the service itself), with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service that started.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <param name="metadata">Extra details, e.g. version or host name.</param>
    public static AuditEntry ServiceStarted(string service, TimeProvider? timeProvider = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        ServiceEvent(service, ServiceStartOperation, timeProvider, metadata);

    /// <summary>Builds a service-stop entry (subject: the service itself), with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service that is stopping.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <param name="metadata">Extra details, e.g. the stop reason.</param>
    public static AuditEntry ServiceStopped(string service, TimeProvider? timeProvider = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        ServiceEvent(service, ServiceStopOperation, timeProvider, metadata);

    /// <summary>Builds a <c>system-events</c> entry Nv writes about itself (boot replay finished, the WAL faulted, a tail cut
    /// at recovery, WAL truncation, a store stopped, a checkpoint failure, audit entries pruned), with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service (the chain the entry goes to).</param>
    /// <param name="operation">What happened, e.g. <c>replay-finished</c>.</param>
    /// <param name="subject">What it happened to (the entry's entity id), e.g. <c>wal</c>, <c>audit</c>, the service.</param>
    /// <param name="reason">A human-readable account, if any.</param>
    /// <param name="metadata">The figures: counts, positions, error classes.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <exception cref="ArgumentException">A required field is missing.</exception>
    public static AuditEntry SystemEvent(
        string service, string operation, string subject, string? reason = null,
        IReadOnlyDictionary<string, string>? metadata = null, TimeProvider? timeProvider = null)
    {
        var id = Guid.CreateVersion7((timeProvider ?? TimeProvider.System).GetUtcNow());
        return Build(service, AuditCategory.SystemEvents, operation, "system:" + id.ToString("D"), subject,
            userId: null, dtoType: null, reason, timeProvider, metadata, id);
    }

    /// <summary>Builds an <c>environment-change</c> entry: what differs from the last run (environment, service name,
    /// writer kind, signing key id, version...), as the before and after images and their field-level diff.</summary>
    /// <param name="service">The service that started.</param>
    /// <param name="previous">The last run's values, or null when no earlier run is known.</param>
    /// <param name="current">This run's values.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    public static AuditEntry EnvironmentChanged(
        string service, IReadOnlyDictionary<string, string>? previous, IReadOnlyDictionary<string, string> current, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        var id = Guid.CreateVersion7((timeProvider ?? TimeProvider.System).GetUtcNow());
        var before = previous is null ? (JsonElement?)null : ToJson(previous);
        var after = ToJson(current);
        var entry = Build(service, AuditCategory.EnvironmentChange, EnvironmentChangedOperation, "system:" + id.ToString("D"), service,
            userId: null, dtoType: null, previous is null ? "first recorded start" : "differs from the last run", timeProvider, null, id);
        return entry with { Before = before, After = after, Changes = JsonDiff.Compute(before, after) };
    }

    private static JsonElement ToJson(IReadOnlyDictionary<string, string> values) =>
        JsonSerializer.SerializeToElement(new SortedDictionary<string, string>(values.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal));

    /// <summary>Builds an authentication-failure entry, with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service that refused the request.</param>
    /// <param name="requestId">The refused request.</param>
    /// <param name="subject">Who tried to authenticate (claimed user or client id); the entry's entity id.</param>
    /// <param name="reason">Why authentication failed.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <param name="metadata">Extra details, e.g. remote address or scheme.</param>
    /// <exception cref="ArgumentException">A required field is missing.</exception>
    public static AuditEntry AuthenticationFailed(
        string service, string requestId, string subject, string? reason,
        TimeProvider? timeProvider = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        Build(service, AuditCategory.Authentication, AuthenticationFailedOperation, requestId, subject,
            userId: null, dtoType: null, reason, timeProvider, metadata);

    /// <summary>Builds a permission-denied entry, with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service that denied the request.</param>
    /// <param name="requestId">The denied request.</param>
    /// <param name="userId">The authenticated caller, if known.</param>
    /// <param name="dtoType">The entity type the request targeted, if any.</param>
    /// <param name="entityId">The resource the request targeted (entity id, or a route when there is none).</param>
    /// <param name="reason">Why access was denied.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <param name="metadata">Extra details, e.g. the required permission.</param>
    /// <exception cref="ArgumentException">A required field is missing.</exception>
    public static AuditEntry PermissionDenied(
        string service, string requestId, string? userId, string? dtoType, string entityId, string? reason,
        TimeProvider? timeProvider = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        Build(service, AuditCategory.Permission, PermissionDeniedOperation, requestId, entityId,
            userId, dtoType, reason, timeProvider, metadata);

    /// <summary>Builds a <c>denials-summarized</c> entry: a count of denials of one kind from one remote
    /// address in one window that were counted instead of written one by one, with a fresh UUIDv7 id.</summary>
    /// <param name="service">The service that denied the requests.</param>
    /// <param name="category"><see cref="AuditCategory.Authentication"/> (401s) or <see cref="AuditCategory.Permission"/> (403s).</param>
    /// <param name="remoteAddress">Where the denied requests came from (the entry's entity id).</param>
    /// <param name="reason">A human-readable account: how many, from where, and which limit.</param>
    /// <param name="metadata">The figures: count, window, the subjects seen.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <exception cref="ArgumentException">A required field is missing, or the category is not a denial's.</exception>
    public static AuditEntry DenialsSummarized(
        string service, AuditCategory category, string remoteAddress, string? reason,
        IReadOnlyDictionary<string, string>? metadata = null, TimeProvider? timeProvider = null)
    {
        if (category is not (AuditCategory.Authentication or AuditCategory.Permission))
        {
            throw new ArgumentException("A denial summary is an authentication or a permission entry.", nameof(category));
        }

        var id = Guid.CreateVersion7((timeProvider ?? TimeProvider.System).GetUtcNow());
        // No one request: the entry's own id names it, as for Nv's other entries about itself.
        return Build(service, category, DenialsSummarizedOperation, "system:" + id.ToString("D"), remoteAddress,
            userId: null, dtoType: null, reason, timeProvider, metadata, id);
    }

    private static AuditEntry ServiceEvent(string service, string operation, TimeProvider? timeProvider, IReadOnlyDictionary<string, string>? metadata)
    {
        RequireText(service, nameof(service));
        var id = Guid.CreateVersion7((timeProvider ?? TimeProvider.System).GetUtcNow());
        // A lifecycle event has no caller request; its own id names it.
        return Build(service, AuditCategory.ServiceStartStop, operation, "system:" + id.ToString("D"), service,
            userId: null, dtoType: null, reason: null, timeProvider, metadata, id);
    }

    private static AuditEntry Build(
        string service, AuditCategory category, string operation, string requestId, string entityId, string? userId,
        string? dtoType, string? reason, TimeProvider? timeProvider, IReadOnlyDictionary<string, string>? metadata, Guid? id = null)
    {
        RequireText(service, nameof(service));
        RequireText(requestId, nameof(requestId));
        RequireText(entityId, nameof(entityId));
        RequireText(operation, nameof(operation));
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        return new AuditEntry
        {
            Id = id ?? Guid.CreateVersion7(now),
            Timestamp = now,
            Service = service,
            Category = category,
            Operation = operation,
            UserId = userId,
            DtoType = dtoType,
            EntityId = entityId,
            Reason = reason,
            Metadata = CopyMetadata(metadata),
            RequestId = requestId,
        };
    }

    private static void RequireText(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"Audit field '{name}' is required.", name);
        }
    }

    // The write's metadata plus its DTO version (nv.dtoVersion), sorted and copied.
    private static SortedDictionary<string, string> WithDtoVersion(IReadOnlyDictionary<string, string>? metadata, int version)
    {
        var copy = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            copy[key] = value;
        }

        copy[DtoVersionKey] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return copy;
    }

    // Sorted and copied: the entry must not change if the caller's dictionary does.
    private static IReadOnlyDictionary<string, string> CopyMetadata(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is null || metadata.Count == 0
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new SortedDictionary<string, string>(metadata.ToDictionary(StringComparer.Ordinal), StringComparer.Ordinal);
}
