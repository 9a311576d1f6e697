using System.Text.Json;
using Nv.Audit;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The one place the host turns WAL records into audit entries (so on-time and backfilled entries are identical).</summary>
internal static class AuditEntries
{
    public static AuditEntry ForMutation(WalRecord record, JsonElement? before, JsonElement? after) =>
        AuditEntryFactory.FromWalRecord(record, before, after);
}
