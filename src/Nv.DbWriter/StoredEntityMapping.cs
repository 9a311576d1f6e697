namespace Nv.DbWriter;

/// <summary>What <see cref="IDataKeyStore.MapStoredEntitiesAsync"/> did: the live entities it mapped to the subject their
/// stored payload names, and those whose payload names none (left under their own keys until a write names one).</summary>
public sealed record StoredEntityMapping
{
    /// <summary>Entities mapped now, with their own keys handed to their subject.</summary>
    public required long Mapped { get; init; }

    /// <summary>Live entities the key store did not map and whose stored payload names no subject.</summary>
    public required long Unnamed { get; init; }
}
