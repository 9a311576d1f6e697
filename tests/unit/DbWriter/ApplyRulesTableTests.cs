using System.Text.Json;
using Nv.DbWriter;
using Nv.Wal;

namespace Nv.Unit.Tests.DbWriter;

/// <summary>The apply rules as a table written from the documentation (README "Write path and failure semantics", DESIGN
/// "Idempotence"), not from <see cref="ApplyRules"/>: the pipeline's unit tests run on a fake writer that calls the
/// production rules, so this table is what would notice the rules themselves drifting.</summary>
public sealed class ApplyRulesTableTests
{
    private enum Slot
    {
        None,
        Live,
        Tombstone,
    }

    // op, expected version (0 = none), slot, stored LSN, record LSN → outcome, reason
    public static TheoryData<WalOperation, long, int, long, long, ApplyStatus, RejectReason> Table() => new()
    {
        // Plain writes.
        { WalOperation.Create, 0, (int)Slot.None, 0, 5, ApplyStatus.Applied, RejectReason.None },
        { WalOperation.Create, 0, (int)Slot.Live, 3, 5, ApplyStatus.Rejected, RejectReason.AlreadyExists },
        { WalOperation.Create, 0, (int)Slot.Tombstone, 3, 5, ApplyStatus.Applied, RejectReason.None },          // create after delete
        { WalOperation.Update, 0, (int)Slot.None, 0, 5, ApplyStatus.Rejected, RejectReason.NotFound },
        { WalOperation.Update, 0, (int)Slot.Live, 3, 5, ApplyStatus.Applied, RejectReason.None },
        { WalOperation.Update, 0, (int)Slot.Tombstone, 3, 5, ApplyStatus.Rejected, RejectReason.NotFound },    // deleted is missing
        { WalOperation.Delete, 0, (int)Slot.Live, 3, 5, ApplyStatus.Applied, RejectReason.None },
        { WalOperation.Delete, 0, (int)Slot.None, 0, 5, ApplyStatus.Rejected, RejectReason.NotFound },
        { WalOperation.Delete, 0, (int)Slot.Tombstone, 3, 5, ApplyStatus.Rejected, RejectReason.NotFound },

        // Optimistic concurrency: a stale or unsatisfiable expected version.
        { WalOperation.Update, 3, (int)Slot.Live, 3, 5, ApplyStatus.Applied, RejectReason.None },
        { WalOperation.Update, 2, (int)Slot.Live, 3, 5, ApplyStatus.Rejected, RejectReason.PreconditionFailed },
        { WalOperation.Update, 3, (int)Slot.None, 0, 5, ApplyStatus.Rejected, RejectReason.PreconditionFailed },
        { WalOperation.Update, 3, (int)Slot.Tombstone, 3, 5, ApplyStatus.Rejected, RejectReason.PreconditionFailed },
        { WalOperation.Delete, 3, (int)Slot.Live, 3, 5, ApplyStatus.Applied, RejectReason.None },
        { WalOperation.Delete, 4, (int)Slot.Live, 3, 5, ApplyStatus.Rejected, RejectReason.PreconditionFailed },
        { WalOperation.Create, 3, (int)Slot.None, 0, 5, ApplyStatus.Rejected, RejectReason.PreconditionFailed },

        // The page-LSN rule comes first: a slot written at this LSN or later was already written by this record or a later
        // one (replay after a crash); nothing is overwritten or resurrected, whatever else the record says.
        { WalOperation.Create, 0, (int)Slot.Live, 5, 5, ApplyStatus.AlreadyApplied, RejectReason.None },
        { WalOperation.Update, 0, (int)Slot.Live, 7, 5, ApplyStatus.AlreadyApplied, RejectReason.None },
        { WalOperation.Create, 0, (int)Slot.Tombstone, 9, 5, ApplyStatus.AlreadyApplied, RejectReason.None },  // no resurrection
        { WalOperation.Delete, 0, (int)Slot.Tombstone, 9, 5, ApplyStatus.AlreadyApplied, RejectReason.None },
        { WalOperation.Update, 2, (int)Slot.Live, 5, 5, ApplyStatus.AlreadyApplied, RejectReason.None },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void The_rules_decide_as_the_documentation_says(
        WalOperation operation, long expected, int slot, long storedLsn, long recordLsn, ApplyStatus status, RejectReason reason)
    {
        var record = new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Lsn = new Lsn(recordLsn),
            Service = "s",
            Version = 1,
            Timestamp = DateTimeOffset.UnixEpoch,
            Operation = operation,
            DtoType = "Item",
            EntityId = "e",
            Payload = JsonDocument.Parse("{}").RootElement.Clone(),
            ReplayKey = "t:s:1:Item:e",
            RequestId = "r",
            ExpectedLsn = expected == 0 ? null : new Lsn(expected),
        };

        var decided = ApplyRules.Decide(record, exists: (Slot)slot != Slot.None, live: (Slot)slot == Slot.Live, storedLsn);

        Assert.Equal((status, reason), decided);
    }
}
