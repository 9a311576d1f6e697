namespace Nv.Host.Pipeline;

/// <summary>The identifier rules the pipeline enforces, for tools that check input before calling it.</summary>
public static class NvIdentifiers
{
    /// <summary>Whether <paramref name="dtoType"/> is a valid entity type: starts with a letter, only letters, digits and
    /// '_', at most 64 characters.</summary>
    public static bool IsValidDtoType(string? dtoType) => RequestValidator.IsValidDtoType(dtoType);
}
