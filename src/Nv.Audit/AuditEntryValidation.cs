using Nv.Audit.Chain;

namespace Nv.Audit;

/// <summary>What every audit sink checks before it writes an entry (so the stores cannot drift apart).</summary>
internal static class AuditEntryValidation
{
    /// <exception cref="ArgumentException">A required field is missing, the category is unknown, or the WAL record hash is malformed.</exception>
    public static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Require(entry.Service, nameof(AuditEntry.Service));
        Require(entry.Operation, nameof(AuditEntry.Operation));
        Require(entry.EntityId, nameof(AuditEntry.EntityId));
        Require(entry.RequestId, nameof(AuditEntry.RequestId));
        _ = AuditCategoryNames.ToName(entry.Category);
        ArgumentNullException.ThrowIfNull(entry.Changes);
        ArgumentNullException.ThrowIfNull(entry.Metadata);
        if (entry.WalRecordHash is not null && !AuditHash.IsWellFormed(entry.WalRecordHash))
        {
            throw new ArgumentException("Audit entry field 'WalRecordHash' must be 64 lowercase hex characters.", nameof(entry));
        }
    }

    private static void Require(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"Audit entry field '{name}' is required.", name);
        }
    }
}
