using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Audit;
using Nv.Audit.Archive;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Pipeline;

/// <summary>The audit trail as a service on the real parts (FasterLog WAL, SQLite stores): custom events are as durable as
/// entity writes (boot replay writes the entry of an event the WAL holds), idempotent by request id across restarts; Nv
/// writes system-events (replay's counts, a cut WAL tail) and environment-change entries itself; and a trail with custom
/// events, archived and pruned ranges verifies, in .NET and with the Python reference verifier.</summary>
public sealed class AuditServiceOnRealStoresTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AuditEventRequest Event(string requestId, string entityId = "r-1") => new()
    {
        RequestId = requestId,
        Category = AuditCategory.SystemEvents,
        Operation = "report-exported",
        EntityId = entityId,
        UserId = "billing",
        Reason = "monthly close",
        Metadata = new Dictionary<string, string> { ["format"] = "csv" },
        After = JsonSerializer.SerializeToElement(new { rows = 1200 }),
    };

    [Fact]
    public async Task An_event_is_idempotent_across_a_restart_and_a_different_event_under_its_id_is_refused()
    {
        AuditEventOutcome first;
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            first = await nv.Services.GetRequiredService<IAuditEventWriter>().RecordAsync(Event("ev-1"), Ct);
            Assert.Equal(WriteStatus.Applied, first.Status);
            Assert.NotNull(first.EntryId);
        }

        await using var again = await NvTestHost.StartAsync(_dir.Path);
        var events = again.Services.GetRequiredService<IAuditEventWriter>();
        var retry = await events.RecordAsync(Event("ev-1"), Ct);
        Assert.True(retry.IsReplay);
        Assert.Equal((first.Lsn, first.EntryId), (retry.Lsn, retry.EntryId)); // found in the trail: this process never saw it
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => events.RecordAsync(Event("ev-1", entityId: "r-2"), Ct));
        await Assert.ThrowsAsync<WriteValidationException>(() => events.RecordAsync(Event("ev-2") with { Category = AuditCategory.EntityMutation }, Ct));
        var sink = again.Services.GetRequiredService<IAuditSink>();
        Assert.Single((await sink.QueryAsync(new AuditQuery { RequestId = "ev-1" }, Ct)).Entries);
        Assert.Empty((await sink.QueryAsync(new AuditQuery { RequestId = "ev-2" }, Ct)).Entries);
    }

    [Fact]
    public async Task Boot_replay_writes_the_entry_of_an_event_the_WAL_holds_and_records_its_counts()
    {
        // As after a crash right after the WAL flush: the event is durable, neither recorded nor audited.
        var record = new WalRecord
        {
            Id = Guid.CreateVersion7(),
            Service = "svc",
            Version = 1,
            Timestamp = DateTimeOffset.UtcNow,
            Operation = WalOperation.AuditEvent,
            DtoType = "Report",
            EntityId = "r-9",
            Payload = AuditEvents.ToPayload(AuditCategory.Permission, "role-granted", null, JsonSerializer.SerializeToElement(new { role = "auditor" })),
            ReplayKey = ReplayKey.Create("test", "svc", 1, "_audit", "r-9"),
            RequestId = "wal-only",
            UserId = "admin",
        };
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(_dir.Path, "wal") }))
        {
            record = await wal.AppendAsync(record, Ct);
            await wal.FlushAsync(record.Lsn, Ct);
        }

        await using var nv = await NvTestHost.StartAsync(_dir.Path);
        Assert.Equal(1, nv.BootReplay.Replayed);
        var sink = nv.Services.GetRequiredService<IAuditSink>();
        var entry = await sink.GetAsync(record.Id, Ct);
        Assert.NotNull(entry);
        Assert.Equal((AuditCategory.Permission, "role-granted", "r-9", "admin"), (entry.Category, entry.Operation, entry.EntityId, entry.UserId));
        Assert.Equal(WalRecordHasher.Compute(record), entry.WalRecordHash);
        var replay = Assert.Single((await sink.QueryAsync(new AuditQuery { Category = AuditCategory.SystemEvents, Operation = "replay-finished" }, Ct)).Entries);
        Assert.Equal(("1", "1"), (replay.Metadata["recordsRead"], replay.Metadata["replayed"]));
        // The event's request id is known to the database, like a write's: a retry is answered from it.
        var outcome = await nv.Pipeline.GetOutcomeAsync("wal-only", "admin", Ct);
        Assert.Equal((WriteStatus.Applied, record.Lsn), (outcome!.Status, outcome.Lsn));
    }

    [Fact]
    public async Task Each_start_records_what_differs_from_the_last_run()
    {
        await (await NvTestHost.StartAsync(_dir.Path)).DisposeAsync();
        await (await NvTestHost.StartAsync(_dir.Path)).DisposeAsync();
        await (await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:Pipeline:Environment"] = "staging" })).DisposeAsync();

        await using var nv = await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:Pipeline:Environment"] = "staging" });
        var changes = (await nv.Services.GetRequiredService<IAuditSink>().QueryAsync(
            new AuditQuery { Category = AuditCategory.EnvironmentChange, Ascending = true }, Ct)).Entries;

        Assert.Equal(2, changes.Count); // the first start, and the move to staging; not the unchanged restarts
        Assert.Null(changes[0].Before);
        Assert.Equal("test", changes[0].After!.Value.GetProperty("environment").GetString());
        Assert.Equal("sqlite", changes[0].After!.Value.GetProperty("writer").GetString());
        Assert.Matches("^[0-9a-f]{16}$", changes[0].After!.Value.GetProperty("signingKeyId").GetString());
        var moved = Assert.Single(changes[1].Changes);
        Assert.Equal("/environment", moved.Path);
        Assert.Equal(("test", "staging"), (moved.Before!.Value.GetString(), moved.After!.Value.GetString()));
        var starts = (await nv.Services.GetRequiredService<IAuditSink>().QueryAsync(
            new AuditQuery { Category = AuditCategory.ServiceStartStop, Operation = "service-start" }, Ct)).Entries;
        Assert.Equal(4, starts.Count);
        Assert.Equal("staging", starts[0].Metadata["environment"]);
    }

    [Fact]
    public async Task A_cut_at_recovery_is_a_system_event()
    {
        var walDir = Path.Combine(_dir.Path, "wal");
        await using (var wal = WriteAheadLog.Open(new WalOptions { Directory = walDir }))
        {
            for (var i = 0; i < 3; i++)
            {
                var appended = await wal.AppendAsync(WalRecords.Create(0, "e" + i, $$"""{"marker":"TAIL-{{i}}"}""", requestId: "t" + i) with
                {
                    Service = "svc",
                    ReplayKey = ReplayKey.Create("test", "svc", 1, "Order", "e" + i),
                }, Ct);
                await wal.FlushAsync(appended.Lsn, Ct);
            }
        }

        // One flipped bit in the last record's payload: its CRC fails. The record is durable (acknowledged), so recovery
        // refuses by default; the operator's PointInTime mode cuts it and keeps what precedes.
        var segment = Directory.GetFiles(Path.Combine(walDir, "log"), "nv.log.*").Single();
        var bytes = File.ReadAllBytes(segment);
        var at = bytes.AsSpan().IndexOf("TAIL-2"u8);
        bytes[at] ^= 0x01;
        File.WriteAllBytes(segment, bytes);

        await using var nv = await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:Wal:RecoveryMode"] = "PointInTime" });
        var cut = Assert.Single((await nv.Services.GetRequiredService<IAuditSink>().QueryAsync(
            new AuditQuery { Category = AuditCategory.SystemEvents, Operation = "wal-tail-cut" }, Ct)).Entries);
        Assert.True(long.Parse(cut.Metadata["tailBytesCut"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("2", cut.Metadata["lastLsn"]);
    }

    [Fact]
    public async Task A_trail_with_custom_events_archived_and_pruned_ranges_verifies_and_retention_prunes_it()
    {
        var archives = Path.Combine(_dir.Path, "archives");
        await using (var nv = await NvTestHost.StartAsync(_dir.Path))
        {
            var events = nv.Services.GetRequiredService<IAuditEventWriter>();
            for (var i = 0; i < 12; i++)
            {
                await nv.Pipeline.WriteAsync(new WriteRequest
                {
                    RequestId = "w" + i,
                    Operation = i < 6 ? WalOperation.Create : WalOperation.Update,
                    DtoType = "Item",
                    EntityId = "i" + (i % 6),
                    Payload = JsonSerializer.SerializeToElement(new { n = i }),
                }, Ct);
                await events.RecordAsync(Event("e" + i, "r-" + i), Ct);
            }

            var cut = DateTimeOffset.UtcNow;
            await Task.Delay(20, Ct);
            await events.RecordAsync(Event("late"), Ct);
            var written = await nv.Services.GetRequiredService<IAuditRetention>().ArchiveAsync(cut, archives, Ct);
            Assert.Single(written);
        }

        // Nv:Audit:Retention prunes the archived range in the host's maintenance pass, once its entries are that old.
        await using (var nv = await NvTestHost.StartAsync(_dir.Path, new Dictionary<string, string?> { ["Nv:Audit:Retention"] = "00:00:01" }))
        {
            var sink = nv.Services.GetRequiredService<IAuditSink>();
            var oldest = (await sink.QueryAsync(new AuditQuery { Ascending = true, Limit = 1 }, Ct)).Entries.Single();
            await Task.Delay(TimeSpan.FromSeconds(1.1), Ct);
            await nv.Services.GetRequiredService<WritePipeline>().RunMaintenanceAsync(Ct);
            Assert.Null(await sink.GetAsync(oldest.Id, Ct));
            Assert.Single((await sink.QueryAsync(new AuditQuery { Operation = "audit-pruned" }, Ct)).Entries);
            var verified = await ((IAuditProofs)nv.Services.GetRequiredService<IAuditSink>()).VerifyAsync(null, Ct);
            Assert.True(verified.IsValid, verified.Reason);
            var archive = Directory.GetFiles(archives).Single();
            var check = AuditArchives.Verify(archive, await ((IAuditProofs)nv.Services.GetRequiredService<IAuditSink>()).GetPublicKeyPemAsync(Ct));
            Assert.True(check.IsValid, check.Reason);
            Assert.Contains(AuditArchiveReaderEntries(archive), c => c == AuditCategory.SystemEvents);
        }

        await using (var again = await NvTestHost.StartAsync(_dir.Path))
        {
            var verified = await ((IAuditProofs)again.Services.GetRequiredService<IAuditSink>()).VerifyAsync(null, Ct);
            Assert.True(verified.IsValid, verified.Reason);
        }

        await AssertReferenceVerifierAsync(Path.Combine(_dir.Path, "audit.db"), Path.Combine(_dir.Path, "audit-signing-key.pub.pem"));
        await AssertReferenceVerifierAsync("--archive", Directory.GetFiles(archives).Single(), Path.Combine(_dir.Path, "audit-signing-key.pub.pem"));
    }

    private static List<AuditCategory> AuditArchiveReaderEntries(string archive)
    {
        using var gzip = new System.IO.Compression.GZipStream(File.OpenRead(archive), System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return lines[1..^1].Select(l => AuditCategoryNames.Parse(JsonDocument.Parse(l).RootElement.GetProperty("category").GetString()!)).ToList();
    }

    // docs/audit_verify_reference.py, the independent implementation of the formats, must agree (skipped without python3).
    private static async Task AssertReferenceVerifierAsync(params string[] args)
    {
        var verdict = await ReferenceVerifier.RunAsync(Ct, args);
        Assert.True(verdict.StartsWith("OK", StringComparison.Ordinal), "reference verifier: " + verdict);
    }

    public void Dispose() => _dir.Dispose();
}
