namespace Nv.Smoke.Tests.Verify;

/// <summary>One row of <c>audit_entries</c> (docs/audit-hash-chain.md, "SQLite store").</summary>
internal sealed record AuditRow(
    string Id, string Timestamp, string Service, string Category, string Operation, string? UserId, string? DtoType, string EntityId,
    string? Before, string? After, string Changes, string? Reason, string Metadata, string RequestId, long? Lsn, long Sequence,
    string? WalRecordHash);
