using Nv.Audit.Merkle;

namespace Nv.Audit;

/// <summary>Proof that a chain's tree at <see cref="ConsistencyProof.ToSize"/> only appended to the tree at <see cref="ConsistencyProof.FromSize"/>.</summary>
public sealed record AuditConsistencyProof
{
    /// <summary>The chain.</summary>
    public required string Chain { get; init; }

    /// <summary>The proof (RFC 9162 §2.1.4).</summary>
    public required ConsistencyProof Proof { get; init; }

    /// <summary>The root at the smaller size.</summary>
    public required MerkleHash FromRoot { get; init; }

    /// <summary>The root at the larger size.</summary>
    public required MerkleHash ToRoot { get; init; }

    /// <summary>Checks the proof against <see cref="FromRoot"/> and <see cref="ToRoot"/>.</summary>
    public bool Verify() => Proof.Verify(FromRoot, ToRoot);
}
