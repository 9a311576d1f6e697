namespace Nv.Wal.Protection;

/// <summary>Wraps and unwraps data keys with a master key: a key file (<see cref="FileMasterKeyProvider"/>,
/// <c>NV_MASTER_KEY_FILE</c>), or a key management service that never lets the master key out.</summary>
/// <remarks>
/// Nv calls it when it creates data keys (in batches, off the callers' path) and when a data key it has not seen since
/// start is needed (a cache miss); the calls may block. Implementations must be thread-safe. <see cref="Unwrap"/> must fail
/// (<see cref="MasterKeyException"/>) rather than return other bytes when the wrapped key was changed or was wrapped by a
/// master key it does not hold.
/// </remarks>
public interface IMasterKeyProvider
{
    /// <summary>The id of the master key new data keys are wrapped with; stored with each wrapped key.</summary>
    string KeyId { get; }

    /// <summary>Wraps (encrypts and authenticates) a data key's material, bound to its id.</summary>
    /// <param name="dataKeyId">The data key's id.</param>
    /// <param name="keyMaterial">The data key's 32 bytes.</param>
    /// <returns>The wrapped key, as stored.</returns>
    byte[] Wrap(Guid dataKeyId, ReadOnlySpan<byte> keyMaterial);

    /// <summary>Unwraps a data key wrapped by master key <paramref name="masterKeyId"/>.</summary>
    /// <param name="masterKeyId">The master key id stored with the wrapped key.</param>
    /// <param name="dataKeyId">The data key's id (the wrapping is bound to it).</param>
    /// <param name="wrappedKey">The wrapped key as stored.</param>
    /// <returns>The data key's 32 bytes.</returns>
    /// <exception cref="MasterKeyException">This provider does not hold that master key, or the wrapped key does not open.</exception>
    byte[] Unwrap(string masterKeyId, Guid dataKeyId, ReadOnlySpan<byte> wrappedKey);
}
