namespace Nv.Host.Pipeline;

/// <summary>A request to erase a data subject (crypto-shredding): see <see cref="IWritePipeline.EraseAsync"/>.</summary>
public sealed record EraseRequest
{
    /// <summary>The caller's request id (idempotency key): a retry with the same id returns the first outcome.</summary>
    public required string RequestId { get; init; }

    /// <summary>The subject's type: an entity type, or the subject type a payload field names
    /// (<c>Nv:Encryption:Subjects</c>).</summary>
    public required string DtoType { get; init; }

    /// <summary>The subject's id.</summary>
    public required string EntityId { get; init; }

    /// <summary>Why (e.g. the erasure request's reference); recorded in the audit trail. Must not hold personal data.</summary>
    public required string Reason { get; init; }

    /// <summary>Who asks (the API key's name, or the operator).</summary>
    public string? UserId { get; init; }

    /// <summary>Free-form metadata recorded with the erasure (no personal data).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}
