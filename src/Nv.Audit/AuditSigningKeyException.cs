namespace Nv.Audit;

/// <summary>This process may not sign audit checkpoints with the key it has: it has none and may not generate one, or its
/// key is not the one the host signs the store's checkpoints with (<see cref="AuditOptions.SignWithHostKeyOnly"/>), or, on
/// MongoDB, the store lists its signing keys and this process's key is not among them.</summary>
/// <remarks>Never transient: it is the process's configuration. The CLI exits 2 with this message (nothing written).
/// Signing with another key than the host's would put a checkpoint into the insert-only trail that the host's own
/// verification reports as signed by a key it does not know, for ever.</remarks>
public sealed class AuditSigningKeyException : NvException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to set.</param>
    /// <param name="keyId">The id of the key this process has, or null when it has none.</param>
    public AuditSigningKeyException(string message, string? keyId = null)
        : base(message)
    {
        KeyId = keyId;
    }

    /// <summary>The id of the key this process has (see <see cref="Merkle.Checkpoint.KeyId"/>), or null when it has none.</summary>
    public string? KeyId { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;
}
