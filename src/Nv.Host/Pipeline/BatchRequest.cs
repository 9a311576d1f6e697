namespace Nv.Host.Pipeline;

/// <summary>An atomic multi-entity write: an ordered list of mutations under one request id, applied all-or-nothing.</summary>
/// <remarks>The batch is one WAL record (one LSN: every entity it writes gets that LSN as its new version), applied in one
/// database transaction; any failed precondition or conflict rejects the whole batch and names the item. Each entity
/// change gets its own audit entry, all sharing the request id. Limits: <see cref="PipelineOptions.MaxBatchItems"/> items and
/// <see cref="PipelineOptions.MaxBatchBytes"/> bytes as written to the WAL.</remarks>
public sealed record BatchRequest
{
    /// <summary>The caller's request id: a retry with the same id returns the first outcome and writes nothing new.</summary>
    public required string RequestId { get; init; }

    /// <summary>The mutations, in order (at least one; each entity at most once).</summary>
    public required IReadOnlyList<BatchItem> Items { get; init; }

    /// <summary>Who makes the change.</summary>
    public string? UserId { get; init; }

    /// <summary>Why the change is made.</summary>
    public string? Reason { get; init; }

    /// <summary>Free-form metadata carried to every item's audit entry.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>When to answer (null: <c>Nv:Pipeline:Ack</c>, default <see cref="AckLevel.Applied"/>).</summary>
    public AckLevel? Ack { get; init; }
}
