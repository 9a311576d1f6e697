using Nv.Wal;

namespace Nv.Host.Protection;

/// <summary>Entities of a dtoType mapped to another data subject (<see cref="EncryptionOptions.Subjects"/>) that have a
/// create or update appended to the WAL and not applied yet, with the subjects those name: the subject the store holds
/// for such an entity may be about to change (a create not applied yet, a move to another customer). A delete, or a
/// custom event that names no subject, takes its subject from the store, so it is refused as retryable while an
/// unapplied write names another subject than the stored one, instead of being sealed under a subject its before image
/// may not belong to. The commit stage counts each append; the apply stage uncounts it once applied.</summary>
internal sealed class UnappliedMappedWrites
{
    private readonly Dictionary<(string DtoType, string EntityId), Dictionary<string, int>> _subjects = [];
    private readonly Lock _gate = new();

    /// <summary>Counts the record's creates and updates of mapped types (itself, or a batch's items).</summary>
    public void Appended(WalRecord record, SubjectResolver subjects) => Count(record, subjects, +1);

    /// <summary>Uncounts them once the record is applied (whatever its outcome).</summary>
    public void Applied(WalRecord record, SubjectResolver subjects) => Count(record, subjects, -1);

    /// <summary>The subjects the entity's unapplied creates and updates name (a copy), or null when it has none.</summary>
    public string[]? SubjectsOf(string dtoType, string entityId)
    {
        lock (_gate)
        {
            return _subjects.TryGetValue((dtoType, entityId), out var named) ? [.. named.Keys] : null;
        }
    }

    private void Count(WalRecord record, SubjectResolver subjects, int delta)
    {
        if (record.Items is { } items)
        {
            foreach (var item in items)
            {
                Count(item.Operation, item.DtoType, item.EntityId, item.Subject, subjects, delta);
            }

            return;
        }

        Count(record.Operation, record.DtoType, record.EntityId, record.Subject, subjects, delta);
    }

    private void Count(WalOperation operation, string dtoType, string entityId, string? subject, SubjectResolver subjects, int delta)
    {
        if (operation is not (WalOperation.Create or WalOperation.Update) || subject is null || !subjects.IsMapped(dtoType))
        {
            return;
        }

        lock (_gate)
        {
            if (!_subjects.TryGetValue((dtoType, entityId), out var named))
            {
                if (delta < 0)
                {
                    return;
                }

                _subjects[(dtoType, entityId)] = named = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            var count = named.GetValueOrDefault(subject) + delta;
            if (count > 0)
            {
                named[subject] = count;
            }
            else
            {
                named.Remove(subject);
                if (named.Count == 0)
                {
                    _subjects.Remove((dtoType, entityId));
                }
            }
        }
    }
}
