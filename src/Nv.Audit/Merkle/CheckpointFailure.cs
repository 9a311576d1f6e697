namespace Nv.Audit.Merkle;

/// <summary>Why a signed checkpoint failed verification.</summary>
public enum CheckpointFailure
{
    /// <summary>It did not fail: the signature is valid.</summary>
    None = 0,

    /// <summary>The checkpoint names a different key than the verifier holds (wrong key, or the key line was altered).</summary>
    KeyMismatch = 1,

    /// <summary>The signature bytes are not a DER-encoded ECDSA signature.</summary>
    MalformedSignature = 2,

    /// <summary>The signature does not match the body: a field or the signature was altered after signing.</summary>
    SignatureMismatch = 3,
}
