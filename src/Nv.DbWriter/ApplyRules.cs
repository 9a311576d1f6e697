using System.Globalization;
using System.Text.Json;
using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The one decision every writer makes for a record against the slot it targets, so all stores agree.</summary>
/// <remarks>
/// Order matters and is part of the contract (the conformance suite pins it):
/// 1. page-LSN rule — the slot was already written at this LSN or later: the record is superseded
///    (<see cref="ApplyStatus.AlreadyApplied"/>; it must not overwrite or resurrect, and its before image is unknown);
/// 2. an expected LSN that does not match the live entity → <see cref="RejectReason.PreconditionFailed"/>;
/// 3. create of a live entity → <see cref="RejectReason.AlreadyExists"/>;
/// 4. update or delete of a missing or deleted entity → <see cref="RejectReason.NotFound"/>;
/// 5. otherwise → <see cref="ApplyStatus.Applied"/>.
/// An audit event (<see cref="WalOperation.AuditEvent"/>) targets no slot: it is always applied (only its request's outcome
/// is stored; no entity is written).
/// </remarks>
internal static partial class ApplyRules
{
    /// <param name="record">The record being applied.</param>
    /// <param name="exists">Whether the slot exists at all (a live entity or a tombstone).</param>
    /// <param name="live">Whether the slot holds a live (not deleted) entity.</param>
    /// <param name="storedLsn">The slot's LSN when it exists.</param>
    public static (ApplyStatus Status, RejectReason Reason) Decide(WalRecord record, bool exists, bool live, long storedLsn)
    {
        if (record.Operation == WalOperation.AuditEvent)
        {
            return (ApplyStatus.Applied, RejectReason.None);
        }

        if (exists && storedLsn >= record.Lsn.Value)
        {
            return (ApplyStatus.AlreadyApplied, RejectReason.None);
        }

        if (record.ExpectedLsn is { } expected && (!live || storedLsn != expected.Value))
        {
            return (ApplyStatus.Rejected, RejectReason.PreconditionFailed);
        }

        if (record.Operation == WalOperation.Create && live)
        {
            return (ApplyStatus.Rejected, RejectReason.AlreadyExists);
        }

        return record.Operation != WalOperation.Create && !live
            ? (ApplyStatus.Rejected, RejectReason.NotFound)
            : (ApplyStatus.Applied, RejectReason.None);
    }

    /// <summary>Stops a record whose LSN the store already holds the outcome (or erasure) of another WAL record at: the LSN
    /// was issued twice (a WAL lost or rolled back, restarted below what this store holds). Answering with the stored
    /// outcome would report a change the database never made (or an erasure whose keys were never destroyed).</summary>
    /// <exception cref="DbWriterException">Always, when <paramref name="storedWalId"/> is not <paramref name="record"/>'s id
    /// (not transient).</exception>
    public static void ThrowIfIssuedTwice(WalRecord record, Guid storedWalId)
    {
        if (storedWalId != record.Id)
        {
            throw new DbWriterException(
                $"LSN {record.Lsn} was issued twice: the database holds the outcome of WAL record {storedWalId} there, not of {record.Id}. "
                + "The WAL does not belong to this database (restore the matching WAL, or start once with Nv__Pipeline__AcceptStoreAheadOfWal=true).",
                isTransient: false);
        }
    }

    /// <summary>The after image of a record: its payload, or null for a delete or an erasure.</summary>
    public static JsonElement? AfterImage(WalRecord record) =>
        record.Operation is WalOperation.Delete or WalOperation.Erase || record.Payload.ValueKind == JsonValueKind.Undefined ? null : record.Payload.Clone();

    /// <summary>A human-readable reason for a rejection (<see cref="ApplyResult.Error"/>).</summary>
    public static string Describe(WalRecord record, RejectReason reason, long? storedLsn) => reason switch
    {
        RejectReason.AlreadyExists => $"{record.DtoType} '{record.EntityId}' already exists.",
        RejectReason.NotFound => $"{record.DtoType} '{record.EntityId}' does not exist.",
        RejectReason.PreconditionFailed => string.Create(CultureInfo.InvariantCulture,
            $"{record.DtoType} '{record.EntityId}' was expected at LSN {record.ExpectedLsn}, but {(storedLsn is null ? "it is not stored there" : $"it is stored at LSN {storedLsn}")}."),
        _ => reason.ToString(),
    };
}
