namespace Nv.Host.Protection;

/// <summary>Encryption at rest (section <c>Nv:Encryption</c>): on when a master key is configured, here
/// (<see cref="MasterKeyFile"/>, <c>NV_MASTER_KEY_FILE</c>) or as an <c>IMasterKeyProvider</c> service (a KMS).</summary>
/// <remarks>
/// With encryption on, every payload is sealed (AES-256-GCM) under its data subject's data key before it reaches the WAL,
/// and audit entries' before, after and changes are sealed under the same key; data keys are wrapped by the master key
/// and kept in the database writer's store. Erasing a subject destroys its keys (crypto-shredding). Off, nothing changes:
/// payloads are stored as before, and a store that holds data keys refuses to start without its master key.
/// </remarks>
public sealed class EncryptionOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Encryption";

    /// <summary>The master key file (<c>NV_MASTER_KEY_FILE</c>): base64 of 32 random bytes, as
    /// <c>nv keys new-master --out FILE</c> writes it. Keep it outside the data directory and its backups.</summary>
    public string? MasterKeyFile { get; set; }

    /// <summary>Data subjects taken from a payload field instead of the entity itself, per dtoType:
    /// <c>"Order": "Customer:customerId"</c> seals each Order under the key of subject <c>Customer/&lt;customerId&gt;</c>, so
    /// erasing that customer erases their orders too. A payload without the field (or with a value that is not a valid
    /// entity id) falls back to the entity itself.</summary>
    public Dictionary<string, string> Subjects { get; init; } = new(StringComparer.Ordinal);

    /// <summary>How many data keys are created (and stored durably) ahead of use in one batch; a new subject takes one.</summary>
    public int KeyPoolSize { get; set; } = 1024;

    /// <summary>How many unwrapped data keys are kept in memory (more are read and unwrapped again when needed).</summary>
    public int KeyCacheSize { get; set; } = 100_000;
}
