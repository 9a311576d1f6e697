namespace Nv.Host.Changes;

/// <summary>What a change feed consumer wants.</summary>
public sealed record ChangeFeedOptions
{
    /// <summary>Only changes of this entity type; null: every type.</summary>
    public string? DtoType { get; init; }

    /// <summary>Keep waiting for new changes after catching up (default); false: end once the changes applied at the time
    /// of the call have been read.</summary>
    public bool Follow { get; init; } = true;
}
