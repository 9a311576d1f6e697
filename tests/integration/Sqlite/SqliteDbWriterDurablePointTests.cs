using Nv.DbWriter;
using Nv.DbWriter.Sqlite;
using Nv.Integration.Tests.Support;
using Nv.Wal;
using static Nv.Integration.Tests.Support.WalRecords;

namespace Nv.Integration.Tests.Sqlite;

/// <summary>A durable point of the entity store syncs its WAL file, whatever was committed since the last one: after it, the
/// page cache holds no dirty page of <c>nv.db-wal</c> (<see cref="PageCache"/>).</summary>
/// <remarks>SQLite writes no WAL frame for a transaction that changed no page (an update to the value already stored), and a
/// <c>synchronous=FULL</c> commit without a frame syncs nothing. The background WAL checkpointer syncs the WAL file whenever
/// it has frames to copy, which would make the commits durable on its own and hide a durable point that synced nothing:
/// the test holds it (<see cref="CheckpointHold"/>) while it looks.</remarks>
public sealed class SqliteDbWriterDurablePointTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private DbWriterOptions Options => new() { DataDirectory = _directory.Path, SqliteFileName = "nv.db" };

    private string Wal => Path.Combine(_directory.Path, "nv.db-wal");

    [Fact]
    public async Task The_first_durable_point_after_a_restart_syncs_commits_that_resolved_nothing_new()
    {
        // Fails without the durable point's counter: after the restart the stored durable_through already equals the resolved
        // position, so the durable point's update changed no page, its FULL commit wrote no frame and synced nothing, and the
        // purge's commit stayed unsynced behind a durable point.
        var observable = Nv.Integration.Tests.Audit.SqliteAuditDurablePointTests.Observable(_directory.Path);
        await using (var first = (SqliteDbWriter)DbWriters.OpenSqlite(Options))
        {
            await first.ApplyAsync([Create(1, "o1", "{}"), Create(2, "o2", "{}")], Ct);
            Assert.Equal(new Lsn(2), await first.MakeDurableAsync(Ct));
        }

        await using var writer = (SqliteDbWriter)DbWriters.OpenSqlite(Options);
        await writer.InitializeAsync(Ct);
        using (await CheckpointHold.StartAsync(hook => writer.Checkpointer!.OnTick = hook, Ct))
        {
            await writer.PurgeAsync(new Lsn(2), Ct); // NORMAL, and the resolved position stays at 2
            Assert.True(!observable || PageCache.DirtyPages(Wal) > 0, "the purge's commit left no dirty page: nothing to observe");
            var frames = WalIndex.Frames(Path.Combine(_directory.Path, "nv.db"));

            Assert.Equal(new Lsn(2), await writer.MakeDurableAsync(Ct));

            Assert.True(WalIndex.Frames(Path.Combine(_directory.Path, "nv.db")) > frames, "the durable point wrote no WAL frame, so its FULL commit synced nothing");
            Assert.True(!observable || PageCache.DirtyPages(Wal) == 0, "dirty pages of the WAL file are left after the durable point");
        }

        using var command = writer.Connection.CreateCommand();
        command.CommandText = "SELECT (SELECT value FROM _nv_meta WHERE key = 'durable_through'), (SELECT value FROM _nv_meta WHERE key = 'durable_points')";
        using var row = command.ExecuteReader();
        Assert.True(row.Read());
        Assert.Equal(2L, row.GetInt64(0));
        Assert.Equal(2L, row.GetInt64(1)); // one per durable point that committed, across the restart
    }
}
