namespace Nv.Wal;

/// <summary>Builds the deterministic replay key <c>env:slug:version:dtoType:entityId</c> that names a record's target slot.</summary>
/// <remarks>A pure function: the same inputs always give the same key. The first four parts may not contain ':'
/// (so the key splits unambiguously); the entity id is last and may contain anything but control characters.</remarks>
public static class ReplayKey
{
    /// <summary>Creates the replay key for a slot.</summary>
    /// <exception cref="ArgumentException">A part is empty, contains ':' (all but the entity id) or a control character.</exception>
    public static string Create(string environment, string serviceSlug, int version, string dtoType, string entityId)
    {
        CheckPart(environment, nameof(environment), allowColon: false);
        CheckPart(serviceSlug, nameof(serviceSlug), allowColon: false);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        CheckPart(dtoType, nameof(dtoType), allowColon: false);
        CheckPart(entityId, nameof(entityId), allowColon: true);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{environment}:{serviceSlug}:{version}:{dtoType}:{entityId}");
    }

    private static void CheckPart(string value, string name, bool allowColon)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, name);
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw new ArgumentException($"Replay key part '{name}' contains a control character.", name);
            }

            if (!allowColon && c == ':')
            {
                throw new ArgumentException($"Replay key part '{name}' may not contain ':'.", name);
            }
        }
    }
}
