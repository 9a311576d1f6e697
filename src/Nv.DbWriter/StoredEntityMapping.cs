namespace Nv.DbWriter;

/// <summary>What <see cref="IDataKeyStore.MapStoredEntitiesAsync"/> did for one mapped dtoType: the live entities it
/// mapped to the subject their stored payload names, and those whose payload names none (left under their own keys until
/// an update names one); nothing when an earlier start completed a pass under the same rule.</summary>
public sealed record StoredEntityMapping
{
    /// <summary>The mapped dtoType.</summary>
    public required string DtoType { get; init; }

    /// <summary>Entities mapped now, with their own keys handed to their subject.</summary>
    public required long Mapped { get; init; }

    /// <summary>Live entities the key store did not map and whose stored payload names no subject.</summary>
    public required long Unnamed { get; init; }

    /// <summary>An earlier start completed a pass under this rule: nothing was read.</summary>
    public required bool AlreadyDone { get; init; }
}
