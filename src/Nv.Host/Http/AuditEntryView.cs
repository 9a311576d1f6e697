using System.Text.Json;
using Nv.Audit;

namespace Nv.Host.Http;

/// <summary>The JSON shape of an audit entry in the HTTP API and in <c>nv audit ... --json</c>.</summary>
internal sealed record AuditEntryView
{
    public required Guid Id { get; init; }
    public required long Sequence { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Service { get; init; }
    public required string Category { get; init; }
    public required string Operation { get; init; }
    public string? UserId { get; init; }
    public string? DtoType { get; init; }
    public required string EntityId { get; init; }
    public required string RequestId { get; init; }
    public long? Lsn { get; init; }
    public string? Reason { get; init; }
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    public JsonElement? Before { get; init; }
    public JsonElement? After { get; init; }
    public required IReadOnlyList<FieldChangeView> Changes { get; init; }
    public required string PrevHash { get; init; }
    public required string Hash { get; init; }

    public static AuditEntryView From(AuditEntry entry) => new()
    {
        Id = entry.Id,
        Sequence = entry.Sequence,
        Timestamp = entry.Timestamp,
        Service = entry.Service,
        Category = AuditCategoryNames.ToName(entry.Category),
        Operation = entry.Operation,
        UserId = entry.UserId,
        DtoType = entry.DtoType,
        EntityId = entry.EntityId,
        RequestId = entry.RequestId,
        Lsn = entry.Lsn?.Value,
        Reason = entry.Reason,
        Metadata = entry.Metadata,
        Before = entry.Before,
        After = entry.After,
        Changes = entry.Changes.Select(c => new FieldChangeView(c.Path, c.Before, c.After)).ToList(),
        PrevHash = entry.PrevHash,
        Hash = entry.Hash,
    };
}
