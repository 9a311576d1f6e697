using Nv.Wal;

namespace Nv.Host.Protection;

/// <summary>Entities of a dtoType mapped to another data subject (<see cref="EncryptionOptions.Subjects"/>) that have a
/// create or update appended to the WAL and not applied yet: the subject the store holds for them may be about to change
/// (a create not applied yet, a move to another customer). A delete, or a custom event that names no subject, takes its
/// subject from the store, so for such an entity it is refused as retryable instead of being sealed under a subject its
/// before image may not belong to. The commit stage counts each append; the apply stage uncounts it once applied.</summary>
internal sealed class UnappliedMappedWrites
{
    private readonly Dictionary<(string DtoType, string EntityId), int> _counts = [];
    private readonly Lock _gate = new();

    /// <summary>Counts the record's creates and updates of mapped types (itself, or a batch's items).</summary>
    public void Appended(WalRecord record, SubjectResolver subjects) => Count(record, subjects, +1);

    /// <summary>Uncounts them once the record is applied (whatever its outcome).</summary>
    public void Applied(WalRecord record, SubjectResolver subjects) => Count(record, subjects, -1);

    /// <summary>Whether the entity has a create or update appended and not applied yet.</summary>
    public bool IsPending(string dtoType, string entityId)
    {
        lock (_gate)
        {
            return _counts.ContainsKey((dtoType, entityId));
        }
    }

    private void Count(WalRecord record, SubjectResolver subjects, int delta)
    {
        if (record.Items is { } items)
        {
            foreach (var item in items)
            {
                Count(item.Operation, item.DtoType, item.EntityId, subjects, delta);
            }

            return;
        }

        Count(record.Operation, record.DtoType, record.EntityId, subjects, delta);
    }

    private void Count(WalOperation operation, string dtoType, string entityId, SubjectResolver subjects, int delta)
    {
        if (operation is not (WalOperation.Create or WalOperation.Update) || !subjects.IsMapped(dtoType))
        {
            return;
        }

        lock (_gate)
        {
            var count = _counts.GetValueOrDefault((dtoType, entityId)) + delta;
            if (count > 0)
            {
                _counts[(dtoType, entityId)] = count;
            }
            else
            {
                _counts.Remove((dtoType, entityId));
            }
        }
    }
}
