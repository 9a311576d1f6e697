namespace Nv.Audit.Merkle;

/// <summary>The outcome of <see cref="CheckpointVerifier.Verify"/>.</summary>
public sealed record CheckpointVerificationResult
{
    /// <summary>The result of a valid signature.</summary>
    public static CheckpointVerificationResult Valid { get; } = new() { Failure = CheckpointFailure.None, Reason = "valid" };

    /// <summary>Whether the signature verified.</summary>
    public bool IsValid => Failure == CheckpointFailure.None;

    /// <summary>The kind of failure, or <see cref="CheckpointFailure.None"/>.</summary>
    public required CheckpointFailure Failure { get; init; }

    /// <summary>A sentence for operators explaining the outcome.</summary>
    public required string Reason { get; init; }
}
