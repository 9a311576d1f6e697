using Microsoft.Data.Sqlite;

namespace Nv.Integration.Tests.Support;

/// <summary>tests/integration/Fixtures/store-f53fc36-archived: an audit store archived and pruned by the build before the
/// archive ledger (commit f53fc36), so its <c>audit-archived</c> entries carry no commitment.</summary>
/// <remarks>Made with that commit's own executable, in NV_DATA_DIR=/tmp/nv-fx-archive with NV_SERVICE=svc NV_ENV=test:
/// <c>nv load --count 30 --writers 2 --entities 5 --seed 7 --run-id fxa</c>; <c>nv audit archive --before NOW --out
/// /tmp/nv-fx-archive/archives</c> (entries 1..22, its audit-archived entry 23); <c>nv load --count 10 ... --run-id fxb</c>;
/// <c>nv audit archive --before NOW</c> again (entries 23..31: it archived the first archive's entry; its own is 32);
/// <c>nv audit prune --before NOW</c> (1..31 pruned, two audit-pruned entries); <c>nv load --count 5 ... --run-id fxc</c>;
/// then its SQLite WAL checkpointed into audit.db. Chain <c>svc</c>: 40 entries, 9 live (32..40), 5 checkpoints; only
/// audit.db and the signing key pair are kept (the archive files are not needed: what they held is pruned). Never open
/// the fixture in place (even a read-only SQLite open of a WAL-mode file leaves -wal and -shm files): copy it.</remarks>
internal static class PreLedgerStore
{
    public static string Source => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "store-f53fc36-archived");

    /// <summary>Copies the fixture into <paramref name="directory"/>, replacing any audit store and signing key there
    /// (close every store on it first).</summary>
    public static void Copy(string directory)
    {
        SqliteConnection.ClearAllPools();
        foreach (var stale in new[] { "audit.db-wal", "audit.db-shm" })
        {
            File.Delete(System.IO.Path.Combine(directory, stale));
        }

        Directory.CreateDirectory(directory);
        foreach (var file in new[] { "audit.db", "audit-signing-key.pem", "audit-signing-key.pub.pem" })
        {
            File.Copy(System.IO.Path.Combine(Source, file), System.IO.Path.Combine(directory, file), overwrite: true);
        }
    }
}
