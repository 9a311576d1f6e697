namespace Nv.DbWriter;

/// <summary>Entity type names that Nv keeps for its own collections and tables.</summary>
/// <remarks>Every dtoType must start with a letter, and Nv's own names start with <c>_nv</c>; the only reserved name a
/// dtoType could otherwise take is the audit collection's, <c>audit_entries</c> (compared case-insensitively: SQLite
/// table names are). Refused by the request validation (HTTP 400) and, at apply time, by the MongoDB writer.</remarks>
public static class DtoTypes
{
    /// <summary>The names no dtoType may take.</summary>
    public static IReadOnlyList<string> ReservedNames { get; } = ["audit_entries"];

    /// <summary>Whether <paramref name="dtoType"/> is one of Nv's own collection names.</summary>
    public static bool IsReserved(string? dtoType)
    {
        if (dtoType is null)
        {
            return false;
        }

        foreach (var name in ReservedNames)
        {
            if (string.Equals(name, dtoType, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
