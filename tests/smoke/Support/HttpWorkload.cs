using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Nv.Smoke.Tests.Support;

/// <summary>A seeded mix of entity writes over HTTP from several concurrent clients: creates, replaces (some with
/// <c>If-Match</c>), merge patches (with removals and nested objects) and deletes over a few overlapping entities of two
/// types, with users, reasons, metadata headers, decimal tokens, escapes, non-ASCII text and keys with <c>/</c> and
/// <c>~</c>; now and then a retry of an earlier request id. Every request and answer goes to a <see cref="WriteLog"/>.</summary>
/// <remarks>A client stops at its first transport error (the server was killed): what it sent then has no answer.</remarks>
internal sealed class HttpWorkload(WriteLog log, string runId, int seed, int entities = 12)
{
    private static readonly string[] DtoTypes = ["Item", "Order"];
    private static readonly string[] Words = ["plain", "café", "quote \"q\"", "tab\there", "line\nbreak", "𝄞 clef", "back\\slash", "ünï"];

    // Header values travel as printable ASCII.
    private static readonly string[] HeaderWords = ["plain", "quote \"q\"", "back\\slash", "checkout #7", "a/b~c"];
    private readonly ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<SentWrite> _retryable = new();
    private long _answered;

    /// <summary>Answers received so far (any status).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Runs <paramref name="clients"/> clients until <paramref name="count"/> writes were sent, a client hits a
    /// transport error, or <paramref name="stop"/> fires.</summary>
    public async Task RunAsync(HttpClient client, int clients, int count, CancellationToken stop)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(HashCode.Combine(seed, c, runId));
            int i;
            while (!stop.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < count)
            {
                var write = random.Next(20) == 0 && _retryable.TryPeek(out var earlier) ? earlier : Next(random, c, i);
                log.Record(write);
                try
                {
                    using var request = Build(write);
                    using var response = await client.SendAsync(request, stop);
                    var body = await response.Content.ReadAsStringAsync(stop);
                    var reply = Parse((int)response.StatusCode, body);
                    log.Answer(write.RequestId, reply);
                    Interlocked.Increment(ref _answered);
                    if (reply.Outcome == "applied" && write.Method != "DELETE")
                    {
                        _versions[Key(write.DtoType, write.EntityId)] = reply.Lsn!.Value;
                    }

                    if (_retryable.Count < 16)
                    {
                        _retryable.Enqueue(write);
                    }
                }
                // A host killed mid-connect can also surface as a bare SocketException ("Transport endpoint is not connected",
                // from the connection's remote end point), not wrapped in an HttpRequestException.
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or System.Net.Sockets.SocketException)
                {
                    return;
                }
            }
        }, CancellationToken.None)));
    }

    private static string Key(string dtoType, string entityId) => dtoType + "/" + entityId;

    private SentWrite Next(Random random, int client, int i)
    {
        var dtoType = DtoTypes[random.Next(DtoTypes.Length)];
        var entityId = "e" + random.Next(entities).ToString(CultureInfo.InvariantCulture);
        var roll = random.Next(100);
        var method = roll < 30 ? "POST" : roll < 55 ? "PUT" : roll < 85 ? "PATCH" : "DELETE";
        long? ifMatch = null;
        if (method != "POST" && random.Next(4) == 0 && _versions.TryGetValue(Key(dtoType, entityId), out var version))
        {
            ifMatch = random.Next(5) == 0 ? version + 1 : version; // sometimes stale on purpose
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (random.Next(3) == 0)
        {
            metadata["ticket"] = "T-" + random.Next(1000).ToString(CultureInfo.InvariantCulture);
        }

        if (random.Next(5) == 0)
        {
            metadata["source"] = HeaderWords[random.Next(HeaderWords.Length)];
        }

        return new SentWrite(
            string.Create(CultureInfo.InvariantCulture, $"{runId}-{client}-{i}"),
            method,
            dtoType,
            entityId,
            method switch { "DELETE" => null, "PATCH" => Patch(random), _ => Document(random, i) },
            "user-" + (client % 3).ToString(CultureInfo.InvariantCulture),
            random.Next(3) == 0 ? null : "reason " + HeaderWords[random.Next(HeaderWords.Length)],
            metadata,
            ifMatch);
    }

    private static string Document(Random random, int i)
    {
        var fields = new List<string>
        {
            $"\"n\":{i}",
            $"\"price\":{random.Next(100)}.{random.Next(100):00}",
            $"\"name\":{Quote(Words[random.Next(Words.Length)])}",
            $"\"tags\":[{string.Join(',', Enumerable.Range(0, random.Next(4)).Select(t => Quote("t" + t)))}]",
        };
        if (random.Next(2) == 0)
        {
            fields.Add($"\"nested\":{{\"a\":{random.Next(10)},\"b\":{{\"deep\":{Quote(Words[random.Next(Words.Length)])},\"x\":null}}}}");
        }

        if (random.Next(4) == 0)
        {
            fields.Add($"\"a/b\":true,\"t~x\":{random.Next(3)}");
        }

        fields.Add($"\"pad\":\"{new string('p', random.Next(200))}\"");
        return "{" + string.Join(',', fields.OrderBy(_ => random.Next())) + "}";
    }

    private static string Patch(Random random)
    {
        var fields = new List<string> { $"\"price\":{random.Next(100)}.{random.Next(10)}0" };
        if (random.Next(2) == 0)
        {
            fields.Add("\"name\":null");
        }

        if (random.Next(2) == 0)
        {
            fields.Add($"\"nested\":{{\"b\":{(random.Next(2) == 0 ? "null" : "{\"deep\":\"patched\"}")},\"c\":[1,2]}}");
        }

        if (random.Next(3) == 0)
        {
            fields.Add($"\"added\":{Quote(Words[random.Next(Words.Length)])}");
        }

        return "{" + string.Join(',', fields) + "}";
    }

    private static string Quote(string value)
    {
        var builder = new StringBuilder();
        Verify.JNode.WriteString(builder, value);
        return builder.ToString();
    }

    private static HttpRequestMessage Build(SentWrite write)
    {
        var request = new HttpRequestMessage(new HttpMethod(write.Method), $"/v1/entities/{write.DtoType}/{write.EntityId}");
        if (write.Body is not null)
        {
            request.Content = new StringContent(write.Body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(write.IsPatch ? "application/merge-patch+json" : "application/json");
        }

        request.Headers.Add("X-Request-Id", write.RequestId);
        if (write.UserId is not null)
        {
            request.Headers.Add("X-User-Id", write.UserId);
        }

        if (write.Reason is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Reason", write.Reason);
        }

        foreach (var (key, value) in write.Metadata)
        {
            request.Headers.TryAddWithoutValidation("X-Meta-" + key, value);
        }

        if (write.IfMatch is { } version)
        {
            request.Headers.TryAddWithoutValidation("If-Match", $"\"{version}\"");
        }

        return request;
    }

    private static WriteReply Parse(int status, string body)
    {
        long? lsn = null;
        string? type = null;
        string? state = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("lsn", out var l) && l.ValueKind == JsonValueKind.Number)
                {
                    lsn = l.GetInt64();
                }

                if (document.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String)
                {
                    type = t.GetString();
                }

                if (document.RootElement.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String)
                {
                    state = s.GetString();
                }
            }
        }
        catch (JsonException)
        {
        }

        return new WriteReply(status, lsn, type, state);
    }
}
