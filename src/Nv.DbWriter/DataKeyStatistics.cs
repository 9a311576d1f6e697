namespace Nv.DbWriter;

/// <summary>What the key store holds: key counts by state and master key, and how many subjects were erased.</summary>
public sealed record DataKeyStatistics
{
    /// <summary>Keys assigned to a subject.</summary>
    public required long AssignedKeys { get; init; }

    /// <summary>Keys created ahead of use, not assigned yet.</summary>
    public required long PoolKeys { get; init; }

    /// <summary>Distinct subjects holding at least one key.</summary>
    public required long Subjects { get; init; }

    /// <summary>Erasures recorded (each destroyed its subject's keys).</summary>
    public required long Erasures { get; init; }

    /// <summary>Keys per master key id that wraps them (more than one entry: a master key rotation is unfinished).</summary>
    public required IReadOnlyDictionary<string, long> KeysByMasterKey { get; init; }
}
