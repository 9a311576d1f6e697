using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nv.Host.Pipeline;
using Nv.Integration.Tests.Support;
using Nv.Wal;

namespace Nv.Integration.Tests.Http;

/// <summary><c>GET /v1/changes</c> as Server-Sent Events on the real app: a consumer that disconnects and resumes with
/// <c>Last-Event-ID</c> sees every applied change exactly once and in order, across a host restart; gone positions are
/// 410; bad parameters 400.</summary>
public sealed class ChangeFeedApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Sse(string Id, string Event, JsonElement Data);

    /// <summary>Reads events until <paramref name="max"/> arrived or the stream ends, then disconnects.</summary>
    private static async Task<List<Sse>> ReadEventsAsync(NvTestApp app, string query, string? lastEventId, int max)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/changes" + query);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var events = new List<Sse>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (events.Count < max && await NextEventAsync(reader, timeout.Token) is { } sse)
        {
            events.Add(sse);
        }

        return events;
    }

    /// <summary>The next event of the stream (comments skipped), or null when the stream ends.</summary>
    private static async Task<Sse?> NextEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? id = null, name = null, data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    return new Sse(id!, name!, JsonDocument.Parse(data).RootElement.Clone());
                }

                (id, name, data) = (null, null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return null;
    }

    private static async Task WriteAsync(NvTestApp app, int from, int count, string prefix)
    {
        for (var i = from; i < from + count; i++)
        {
            var id = "e" + (i % 7);
            var response = await app.SendAsync(i % 3 == 2 ? HttpMethod.Delete : HttpMethod.Put, $"/v1/entities/Item/{id}",
                i % 3 == 2 ? null : $$"""{"i":{{i}}}""", $"{prefix}-{i}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await app.CreateAsync("Item", id, $$"""{"i":{{i}}}""", $"{prefix}-{i}-c");
            }

            if (i % 5 == 0)
            {
                var batch = NvTestApp.Request(HttpMethod.Post, "/v1/batch",
                    $$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{prefix}}}-o{{{i}}}","payload":{"i":{{{i}}}}},{"op":"create","dtoType":"Stock","entityId":"{{{prefix}}}-s{{{i}}}","payload":{}}]}""",
                    $"{prefix}-b{i}");
                Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(batch, Ct)).StatusCode);
                var rejected = NvTestApp.Request(HttpMethod.Post, "/v1/batch",
                    $$$"""{"items":[{"op":"create","dtoType":"Order","entityId":"{{{prefix}}}-x{{{i}}}","payload":{}},{"op":"create","dtoType":"Order","entityId":"{{{prefix}}}-o{{{i}}}","payload":{}}]}""",
                    $"{prefix}-rb{i}");
                Assert.Equal(HttpStatusCode.Conflict, (await app.Client.SendAsync(rejected, Ct)).StatusCode);
            }
        }
    }

    /// <summary>What the feed must hold: every applied change in the WAL, in LSN then item order, as event ids.</summary>
    private static async Task<List<string>> ExpectedIdsAsync(string dataDir)
    {
        var expected = new List<string>();
        await using var db = Nv.DbWriter.DbWriters.OpenSqlite(new Nv.DbWriter.DbWriterOptions { DataDirectory = dataDir });
        var resolutions = (await db.GetResolutionsAsync(Lsn.None, 100_000, Ct)).ToDictionary(r => r.Lsn);
        await using var wal = WriteAheadLog.Open(new WalOptions { Directory = Path.Combine(dataDir, "wal") });
        await foreach (var record in wal.ReadAsync(new Lsn(1), Ct))
        {
            if (resolutions[record.Lsn].Status != Nv.DbWriter.ApplyStatus.Applied)
            {
                continue;
            }

            // A batch's last item carries the plain LSN ("fully consumed"), the others "lsn.item".
            expected.AddRange(record.Items is null
                ? [record.Lsn.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]
                : record.Items.Select((_, i) => i == record.Items.Count - 1
                    ? record.Lsn.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : FormattableString.Invariant($"{record.Lsn.Value}.{i}")));
        }

        return expected;
    }

    [Fact]
    public async Task A_consumer_that_disconnects_and_resumes_sees_every_change_exactly_once_in_order_across_a_restart()
    {
        using var dir = new TempDirectory();
        var seen = new List<Sse>();
        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false))
        {
            await WriteAsync(app, 0, 20, "one");
            seen.AddRange(await ReadEventsAsync(app, "?fromLsn=1", null, 7));
            Assert.Equal(7, seen.Count);
            seen.AddRange(await ReadEventsAsync(app, "", seen[^1].Id, 5)); // reconnect: Last-Event-ID
            await WriteAsync(app, 20, 10, "two");
        }

        await using (var app = await NvTestApp.StartAsync(dir, ownsDirectory: false))
        {
            await WriteAsync(app, 30, 10, "three");
            seen.AddRange(await ReadEventsAsync(app, "?follow=false", seen[^1].Id, int.MaxValue));
        }

        var expected = await ExpectedIdsAsync(dir.Path);
        Assert.Contains(expected, id => id.Contains('.', StringComparison.Ordinal)); // batches are in it
        Assert.Equal(expected, seen.Select(e => e.Id));
        Assert.All(seen, e => Assert.Equal("change", e.Event));
        Assert.All(seen, e => Assert.Equal(e.Id, e.Data.GetProperty("id").GetString()));
        var batchItem = seen.First(e => e.Data.TryGetProperty("item", out var item) && item.ValueKind == JsonValueKind.Number && item.GetInt32() == 1).Data;
        Assert.Equal(batchItem.GetProperty("lsn").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), batchItem.GetProperty("id").GetString());
        Assert.Equal(("create", "Stock", 1), (batchItem.GetProperty("operation").GetString(), batchItem.GetProperty("dtoType").GetString(), batchItem.GetProperty("item").GetInt32()));
        Assert.Contains(seen, e => e.Data.GetProperty("operation").GetString() == "delete" && e.Data.GetProperty("after").ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task The_feed_filters_by_dto_type_and_rejects_bad_parameters()
    {
        await using var app = await NvTestApp.StartAsync();
        await WriteAsync(app, 0, 6, "f");
        var orders = await ReadEventsAsync(app, "?fromLsn=0&dtoType=Order&follow=false", null, int.MaxValue);
        Assert.NotEmpty(orders);
        Assert.All(orders, e => Assert.Equal("Order", e.Data.GetProperty("dtoType").GetString()));

        await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, "/v1/changes?fromLsn=-1"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, "/v1/changes?dtoType=no%20way"), 400, "validation");
        await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, "/v1/changes?follow=maybe"), 400, "validation");
        var badId = NvTestApp.Request(HttpMethod.Get, "/v1/changes");
        badId.Headers.Add("Last-Event-ID", "forty-two");
        await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(badId, Ct), 400, "validation");
        // The position after the largest LSN does not exist: it wrapped to long.MinValue and the stream said "gone".
        var lastLsn = NvTestApp.Request(HttpMethod.Get, "/v1/changes?follow=false");
        lastLsn.Headers.Add("Last-Event-ID", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(lastLsn, Ct), 400, "validation");
        await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, "/v1/changes?fromLsn=9223372036854775808"), 400, "validation");
        // fromLsn names the first position itself (no + 1): the largest LSN is a position no change has reached yet.
        Assert.Empty(await ReadEventsAsync(app, "?fromLsn=9223372036854775807&follow=false", null, int.MaxValue));
    }

    /// <summary>A batch's last item used to carry the id "lsn.item", which resumes inside the batch: once the batch was
    /// truncated from the WAL that reconnect was a 410 although the consumer had missed nothing. Its id is the batch's LSN
    /// now ("fully consumed"); a consumer that stopped inside the truncated batch still gets 410.</summary>
    [Fact]
    public async Task A_consumer_that_got_a_truncated_batchs_last_item_resumes_and_one_that_stopped_inside_it_gets_410()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Pipeline:InMemory=true");
        var batch = await app.Client.SendAsync(NvTestApp.Request(HttpMethod.Post, "/v1/batch",
            """{"items":[{"op":"create","dtoType":"Order","entityId":"t0","payload":{}},{"op":"create","dtoType":"Order","entityId":"t1","payload":{}},{"op":"create","dtoType":"Order","entityId":"t2","payload":{}}]}""",
            "trunc-batch"), Ct);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var batchLsn = (await NvTestApp.JsonAsync(batch)).GetProperty("lsn").GetInt64();
        var single = (await NvTestApp.JsonAsync(await app.CreateAsync("Item", "after-batch", "{}"))).GetProperty("lsn").GetInt64();
        var consumed = await ReadEventsAsync(app, $"?fromLsn={batchLsn}", null, 3); // the whole batch, then disconnects

        var pipeline = app.App.Services.GetRequiredService<WritePipeline>();
        await pipeline.MakeStoresDurableAsync(Ct);
        var first = await pipeline.RunMaintenanceAsync(Ct);
        Assert.True(first.Value > batchLsn, $"the batch was not truncated (first LSN {first})");

        var rest = await ReadEventsAsync(app, "?follow=false", consumed[^1].Id, int.MaxValue);
        Assert.Equal(single, rest[0].Data.GetProperty("lsn").GetInt64());
        Assert.Equal([FormattableString.Invariant($"{batchLsn}.0"), FormattableString.Invariant($"{batchLsn}.1"), FormattableString.Invariant($"{batchLsn}")],
            consumed.Select(e => e.Id));
        Assert.Equal([0, 1, 2], consumed.Select(e => e.Data.GetProperty("item").GetInt32()));

        var inside = NvTestApp.Request(HttpMethod.Get, "/v1/changes?follow=false");
        inside.Headers.Add("Last-Event-ID", FormattableString.Invariant($"{batchLsn}.1")); // item 2 was missed
        var problem = await NvTestApp.AssertProblemAsync(await app.Client.SendAsync(inside, Ct), 410, "changes-gone");
        Assert.Equal(first.Value, problem.GetProperty("firstLsn").GetInt64());
    }

    /// <summary>Feed connections were not limited, and each holds up to a page of changes while its client is slow. With
    /// Nv:Http:MaxChangeFeedStreams=2 a third stream is 503 changes-busy with Retry-After while the two keep streaming and
    /// writes go on; a slot frees when a client disconnects, and when a follow=false stream ends.</summary>
    [Fact]
    public async Task A_stream_over_the_limit_gets_503_while_the_others_keep_streaming_and_a_disconnect_frees_its_slot()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Http:MaxChangeFeedStreams=2");
        var limit = app.App.Services.GetRequiredService<Nv.Host.Http.ChangeStreamLimit>();
        var one = await OpenStreamAsync(app);
        var two = await OpenStreamAsync(app);

        using (var refused = await app.SendAsync(HttpMethod.Get, "/v1/changes?fromLsn=1&follow=false"))
        {
            var problem = await NvTestApp.AssertProblemAsync(refused, 503, "changes-busy");
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Contains("Nv:Http:MaxChangeFeedStreams", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(2, limit.Open);

        Assert.Equal(HttpStatusCode.Created, (await app.CreateAsync("Item", "while-full", "{}")).StatusCode); // writes go on
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            foreach (var stream in new[] { one, two })
            {
                var change = await NextEventAsync(stream.Reader, timeout.Token);
                Assert.Equal("while-full", change?.Data.GetProperty("entityId").GetString()); // both keep streaming
            }
        }

        one.Dispose(); // the client goes away
        await WaitUntilAsync(() => limit.Open == 1);
        var three = await OpenStreamAsync(app); // its slot is free again
        using (var full = await app.SendAsync(HttpMethod.Get, "/v1/changes?follow=false"))
        {
            await NvTestApp.AssertProblemAsync(full, 503, "changes-busy"); // and the limit still holds
        }

        two.Dispose();
        await WaitUntilAsync(() => limit.Open == 1);
        Assert.Single(await ReadEventsAsync(app, "?follow=false&dtoType=Item", null, int.MaxValue)); // ends by itself...
        await WaitUntilAsync(() => limit.Open == 1); // ...and gives its slot back
        three.Dispose();
        await WaitUntilAsync(() => limit.Open == 0);
    }

    /// <summary>One reader key could take every stream slot. With MaxChangeFeedStreamsPerKey=2 (of 4) a key's third stream
    /// is 429 too-many-streams with Retry-After while another key still gets a stream; a key's closed stream frees its
    /// own slot.</summary>
    [Fact]
    public async Task One_key_gets_at_most_its_share_of_the_streams_and_another_key_still_gets_one()
    {
        var keys = $"r1:reader:{Nv.Host.Http.Auth.ApiKeyStore.Hash("stream-r1-secret")};r2:reader:{Nv.Host.Http.Auth.ApiKeyStore.Hash("stream-r2-secret")}";
        await using var app = await NvTestApp.StartAsync(keys, "--Nv:Http:MaxChangeFeedStreams=4", "--Nv:Http:MaxChangeFeedStreamsPerKey=2");
        var limit = app.App.Services.GetRequiredService<Nv.Host.Http.ChangeStreamLimit>();
        var one = await OpenStreamAsync(app, "stream-r1-secret");
        var two = await OpenStreamAsync(app, "stream-r1-secret");

        using (var request = NvTestApp.Request(HttpMethod.Get, "/v1/changes?follow=false", key: "stream-r1-secret"))
        using (var refused = await app.Client.SendAsync(request, Ct))
        {
            var problem = await NvTestApp.AssertProblemAsync(refused, 429, "too-many-streams");
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
            Assert.Contains("Nv:Http:MaxChangeFeedStreamsPerKey", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal((2, 2), (limit.Open, limit.OpenFor("r1")));
        using var other = await OpenStreamAsync(app, "stream-r2-secret"); // the host has slots left, and another key gets one
        Assert.Equal(3, limit.Open);

        one.Dispose();
        await WaitUntilAsync(() => limit.OpenFor("r1") == 1);
        using var again = await OpenStreamAsync(app, "stream-r1-secret");
        two.Dispose();
    }

    /// <summary>As <c>nv serve</c> builds it (Kestrel reads Nv:Http while the app is built): the build fails naming the
    /// setting (one line, exit 2) before any store is opened.</summary>
    [Fact]
    public void A_stream_limit_out_of_range_stops_the_start_naming_it()
    {
        using var dir = new TempDirectory();
        var refused = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(
            () => Nv.Cli.Hosting.NvWebApp.Build(["--Nv:DataDirectory=" + dir.Path, "--Nv:Http:MaxChangeFeedStreams=0"]));
        Assert.Contains("Nv:Http:MaxChangeFeedStreams", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path));
    }

    private sealed record OpenStream(HttpResponseMessage Response, StreamReader Reader) : IDisposable
    {
        public void Dispose()
        {
            Reader.Dispose();
            Response.Dispose();
        }
    }

    // A following stream from the next change on, its headers read (so it holds its slot).
    private static async Task<OpenStream> OpenStreamAsync(NvTestApp app, string? key = null)
    {
        using var request = NvTestApp.Request(HttpMethod.Get, "/v1/changes?dtoType=Item&fromLsn=" +
            (app.Wal.LastLsn.Value + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), key: key);
        var response = await app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new OpenStream(response, new StreamReader(await response.Content.ReadAsStreamAsync(Ct)));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string what = "")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task A_position_truncated_from_the_wal_is_410_gone_with_the_first_lsn_held()
    {
        await using var app = await NvTestApp.StartAsync(null, "--Nv:Pipeline:InMemory=true");
        await WriteAsync(app, 0, 6, "g");
        var pipeline = app.App.Services.GetRequiredService<WritePipeline>();
        await pipeline.MakeStoresDurableAsync(Ct);
        var first = await pipeline.RunMaintenanceAsync(Ct);
        Assert.True(first.Value > 1, $"the WAL was not truncated (first LSN {first})");

        var problem = await NvTestApp.AssertProblemAsync(await app.SendAsync(HttpMethod.Get, "/v1/changes?fromLsn=1"), 410, "changes-gone");
        Assert.Equal(first.Value, problem.GetProperty("firstLsn").GetInt64());
        var after = await app.CreateAsync("Item", "after-truncation", "{}");
        var lsn = (await NvTestApp.JsonAsync(after)).GetProperty("lsn").GetInt64();
        var rest = await ReadEventsAsync(app, $"?fromLsn={first.Value}&follow=false", null, int.MaxValue);
        Assert.All(rest, e => Assert.True(e.Data.GetProperty("lsn").GetInt64() >= first.Value));
        Assert.Equal(lsn, rest[^1].Data.GetProperty("lsn").GetInt64());
    }
}
