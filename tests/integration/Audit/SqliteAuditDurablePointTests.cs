using Nv.Audit.Sqlite;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Audit;

/// <summary>A durable point of the audit store syncs its WAL file, whatever was committed since the last one: after it, the
/// page cache holds no dirty page of <c>audit.db-wal</c> (<see cref="PageCache"/>).</summary>
/// <remarks>SQLite writes no WAL frame for a transaction that changed no page (an upsert of the bytes already stored, an
/// insert of an entry already stored), and a <c>synchronous=FULL</c> commit without a frame syncs nothing. The background
/// WAL checkpointer syncs the WAL file whenever it has frames to copy, which would make the commits durable on its own
/// and hide a durable point that synced nothing: each test holds it (<see cref="CheckpointHold"/>) while it looks.</remarks>
public sealed class SqliteAuditDurablePointTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Wal => FilePath + "-wal";

    [Fact]
    public async Task A_durable_point_after_a_commit_that_moves_no_audited_position_syncs_the_wal_file()
    {
        // Fails without the durable point's counter: durable_through is stored as 1 already, so its upsert changed no page,
        // the FULL commit wrote no frame and synced nothing, and the environment rows stayed unsynced behind a durable point.
        var observable = Observable(Directory);
        var sink = (SqliteAuditSink)Sink;
        Assert.Equal(1, await sink.AppendAsync([Entry(entityId: "a")], new Lsn(1), Ct));
        Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));

        using (await CheckpointHold.StartAsync(hook => sink.WalCheckpointer!.OnTick = hook, Ct))
        {
            await sink.SetRunEnvironmentAsync(new Dictionary<string, string> { ["environment"] = "test" }, Ct); // NORMAL
            Assert.True(!observable || PageCache.DirtyPages(Wal) > 0, "the environment's commit left no dirty page: nothing to observe");
            var frames = WalIndex.Frames(FilePath);

            Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));

            Assert.True(WalIndex.Frames(FilePath) > frames, "the durable point wrote no WAL frame, so its FULL commit synced nothing");
            Assert.True(!observable || PageCache.DirtyPages(Wal) == 0, "dirty pages of the WAL file are left after the durable point");
        }

        using var raw = Raw();
        using var count = raw.CreateCommand();
        count.CommandText = "SELECT value FROM audit_meta WHERE key = 'durable_points'";
        Assert.Equal(2L, count.ExecuteScalar()); // one per durable point that committed
    }

    [Fact]
    public async Task A_synced_append_that_stores_nothing_leaves_the_earlier_appends_to_the_next_durable_point()
    {
        // Fails without the check of what the synced append stored: its entry was stored already, so its FULL commit wrote
        // no frame and synced nothing, yet it marked the store clean, and the next durable point skipped its sync.
        var observable = Observable(Directory);
        var sink = (SqliteAuditSink)Sink;
        var stored = Entry(entityId: "a");
        Assert.Equal(1, await sink.AppendAsync([stored], new Lsn(1), Ct));
        Assert.Equal(new Lsn(1), await sink.MakeDurableAsync(Ct));

        using (await CheckpointHold.StartAsync(hook => sink.WalCheckpointer!.OnTick = hook, Ct))
        {
            Assert.Equal(1, await sink.AppendAsync([Entry(entityId: "b")], new Lsn(2), Ct)); // NORMAL
            Assert.True(!observable || PageCache.DirtyPages(Wal) > 0, "the append left no dirty page: nothing to observe");
            Assert.Equal(0, await sink.AppendSyncedAsync([stored], Ct)); // stored already: nothing to commit
            var frames = WalIndex.Frames(FilePath);

            Assert.Equal(new Lsn(2), await sink.MakeDurableAsync(Ct));

            Assert.True(WalIndex.Frames(FilePath) > frames, "the durable point wrote no WAL frame, so its FULL commit synced nothing");
            Assert.True(!observable || PageCache.DirtyPages(Wal) == 0, "dirty pages of the WAL file are left after the durable point");
        }
    }

    // Whether dirty pages can be seen here; the WAL-index frame count is checked either way (any kernel, any filesystem).
    internal static bool Observable(string directory)
    {
        if (PageCache.Unobservable(directory) is { } why)
        {
            TestContext.Current.TestOutputHelper?.WriteLine("dirty pages not checked: " + why);
            return false;
        }

        return true;
    }
}
