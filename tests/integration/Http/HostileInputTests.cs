using System.Net.Http.Headers;
using System.Text;

namespace Nv.Integration.Tests.Http;

/// <summary>A corpus of hostile requests: each gets the expected 4xx Problem and nothing reaches the WAL.</summary>
public sealed class HostileInputTests(OpenAppFixture fixture) : IClassFixture<OpenAppFixture>
{
    private readonly NvTestApp _app = fixture.App;

    private sealed record Case(string Method, string Path, byte[]? Body, int Status, string Type, string ContentType = "application/json",
        bool Chunked = false, (string Name, string Value)[]? Headers = null, bool NoRequestId = false);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static readonly string Deep = "{\"a\":" + new string('[', 10_000) + new string(']', 10_000) + "}";

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["malformed json"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1,,}"), 400, "validation"),
        ["truncated json"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":\"b"), 400, "validation"),
        ["trailing garbage"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1} x"), 400, "validation"),
        ["invalid utf-8"] = new("POST", "/v1/entities/Item/h1", [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 400, "validation"),
        ["invalid utf-8 in a value"] = new("PUT", "/v1/entities/Item/h1", [.. Utf8("{\"a\":\""), 0xFF, 0xFE, .. Utf8("\"}")], 400, "validation"),
        ["10000-deep nesting"] = new("POST", "/v1/entities/Item/h1", Utf8(Deep), 400, "validation"),
        ["40-deep nesting over the pipeline limit"] = new("POST", "/v1/entities/Item/h1",
            Utf8("{\"a\":" + string.Concat(Enumerable.Repeat("{\"b\":", 40)) + "1" + new string('}', 40) + "}"), 400, "validation"),
        ["body over the limit with content-length"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":\"" + new string('x', 200_000) + "\"}"), 413, "payload-too-large"),
        ["chunked body over the limit"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":\"" + new string('x', 200_000) + "\"}"), 413, "payload-too-large",
            Chunked: true),
        ["payload over the pipeline limit"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":\"" + new string('x', 40_000) + "\"}"), 413, "payload-too-large"),
        ["escaped lone surrogate in a key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\\ud800\":1}"), 400, "validation"),
        ["escaped lone surrogate in a value"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":\"\\udc00\"}"), 400, "validation"),
        ["dollar key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"$set\":{\"admin\":true}}"), 400, "validation"),
        ["nested dollar key"] = new("PUT", "/v1/entities/Item/h1", Utf8("{\"a\":{\"$where\":\"1\"}}"), 400, "validation"),
        ["dotted key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a.b\":1}"), 400, "validation"),
        ["nul in key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\\u0000b\":1}"), 400, "validation"),
        ["reserved _nv key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"_nv\":{\"lsn\":1}}"), 400, "validation"),
        ["duplicate keys"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1,\"a\":2}"), 400, "validation"),
        ["array body"] = new("POST", "/v1/entities/Item/h1", Utf8("[1,2]"), 400, "validation"),
        ["string body"] = new("POST", "/v1/entities/Item/h1", Utf8("\"x\""), 400, "validation"),
        ["number body"] = new("PUT", "/v1/entities/Item/h1", Utf8("42"), 400, "validation"),
        ["null body"] = new("POST", "/v1/entities/Item/h1", Utf8("null"), 400, "validation"),
        ["empty body"] = new("POST", "/v1/entities/Item/h1", [], 400, "validation"),
        ["text/plain"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 415, "unsupported-media-type", ContentType: "text/plain"),
        ["latin-1 charset"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 415, "unsupported-media-type", ContentType: "application/json; charset=iso-8859-1"),
        ["merge-patch type on POST"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 415, "unsupported-media-type", ContentType: "application/merge-patch+json"),
        ["no content type"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 415, "unsupported-media-type", ContentType: ""),
        ["entity id of 201 characters"] = new("POST", "/v1/entities/Item/" + new string('i', 201), Utf8("{\"a\":1}"), 400, "validation"),
        ["entity id with a control character"] = new("POST", "/v1/entities/Item/a%01b", Utf8("{\"a\":1}"), 400, "validation"),
        ["entity id climbing out with encoded slashes"] = new("POST", "/v1/entities/orders/..%2F..%2Fetc", Utf8("{\"a\":1}"), 400, "validation"),
        ["entity id with an encoded backslash"] = new("PUT", "/v1/entities/orders/a%5Cb", Utf8("{\"a\":1}"), 400, "validation"),
        ["entity id that is a parent segment"] = new("DELETE", "/v1/entities/orders/%2E%2E", null, 404, "not-found"), // Kestrel removes dot segments
        ["entity id with a double-encoded slash is the literal text and is still refused"] = new("POST", "/v1/entities/orders/..%252F..%2Fetc",
            Utf8("{\"a\":1}"), 400, "validation"),
        ["entity id with a bidi override"] = new("POST", "/v1/entities/orders/abc%E2%80%AEgpj", Utf8("{\"a\":1}"), 400, "validation"),
        ["read of a path-like id"] = new("GET", "/v1/entities/orders/..%2Fsecret", null, 400, "validation", NoRequestId: true),
        ["dto type with sql"] = new("POST", "/v1/entities/Item%3BDROP%20TABLE%20x/h1", Utf8("{\"a\":1}"), 400, "validation"),
        ["dto type starting with a digit"] = new("POST", "/v1/entities/1Item/h1", Utf8("{\"a\":1}"), 400, "validation"),
        ["dto type of 65 characters"] = new("POST", "/v1/entities/" + new string('T', 65) + "/h1", Utf8("{\"a\":1}"), 400, "validation"),
        ["request id with spaces"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 400, "validation", NoRequestId: true,
            Headers: [("X-Request-Id", "a b")]),
        ["request id of 129 characters"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 400, "validation", NoRequestId: true,
            Headers: [("X-Request-Id", new string('r', 129))]),
        ["garbage if-match"] = new("PUT", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 400, "validation", Headers: [("If-Match", "\"abc\"")]),
        ["dollar metadata key"] = new("POST", "/v1/entities/Item/h1", Utf8("{\"a\":1}"), 400, "validation", Headers: [("X-Meta-$where", "1")]),
        ["patch that is not an object"] = new("PATCH", "/v1/entities/Item/h1", Utf8("[]"), 400, "validation", ContentType: "application/merge-patch+json"),
        ["delete without request id"] = new("DELETE", "/v1/entities/Item/h1", null, 400, "validation", NoRequestId: true),
        ["get with an absurd id"] = new("GET", "/v1/entities/Item/" + new string('z', 5000), null, 400, "validation", NoRequestId: true),
        // Escaped lone surrogates parse as JSON but cannot be read as .NET strings (System.Text.Json throws): they were 500s
        // wherever the HTTP layer read a member name or a string itself instead of leaving it to the pipeline's validator.
        ["batch: escaped lone surrogate in the entity id"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\":\"create\",\"dtoType\":\"Order\",\"entityId\":\"\\ud800\",\"payload\":{}}]}"), 400, "validation"),
        ["batch: escaped lone surrogate in op"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\":\"cre\\udc00\",\"dtoType\":\"Order\",\"entityId\":\"s1\",\"payload\":{}}]}"), 400, "validation"),
        ["batch: escaped lone surrogate in dtoType"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\":\"create\",\"dtoType\":\"\\ud800\",\"entityId\":\"s1\",\"payload\":{}}]}"), 400, "validation"),
        ["batch: escaped lone surrogate in ifMatch"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\":\"update\",\"dtoType\":\"Order\",\"entityId\":\"s1\",\"payload\":{},\"ifMatch\":\"\\ud800\"}]}"), 400, "validation"),
        ["batch: escaped lone surrogate in an item member name"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\\ud800\":\"create\"}]}"), 400, "validation"),
        ["batch: escaped lone surrogate in a top-level key"] = new("POST", "/v1/batch", Utf8("{\"\\ud800\":1}"), 400, "validation"),
        ["batch: escaped lone surrogate in a payload key"] = new("POST", "/v1/batch",
            Utf8("{\"items\":[{\"op\":\"create\",\"dtoType\":\"Order\",\"entityId\":\"s1\",\"payload\":{\"a\\ud800\":1}}]}"), 400, "validation"),
        ["audit event: escaped lone surrogate in the entity id"] = new("POST", "/v1/audit/events",
            Utf8("{\"category\":\"system-events\",\"operation\":\"exported\",\"entityId\":\"\\ud800\"}"), 400, "validation"),
        ["audit event: escaped lone surrogate in the operation"] = new("POST", "/v1/audit/events",
            Utf8("{\"category\":\"system-events\",\"operation\":\"\\udfff\",\"entityId\":\"e1\"}"), 400, "validation"),
        ["audit event: escaped lone surrogate in a member name"] = new("POST", "/v1/audit/events", Utf8("{\"a\\ud800\":1}"), 400, "validation"),
        ["audit event: escaped lone surrogate in a metadata key"] = new("POST", "/v1/audit/events",
            Utf8("{\"category\":\"system-events\",\"operation\":\"exported\",\"entityId\":\"e1\",\"metadata\":{\"k\\ud800\":\"v\"}}"), 400, "validation"),
        ["audit event: escaped lone surrogate in a metadata value"] = new("POST", "/v1/audit/events",
            Utf8("{\"category\":\"system-events\",\"operation\":\"exported\",\"entityId\":\"e1\",\"metadata\":{\"k\":\"\\ud800\"}}"), 400, "validation"),
        ["audit event: escaped lone surrogate in an after image key"] = new("POST", "/v1/audit/events",
            Utf8("{\"category\":\"system-events\",\"operation\":\"exported\",\"entityId\":\"e1\",\"after\":{\"\\ud800\":1}}"), 400, "validation"),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Hostile_input_is_refused_with_a_4xx_problem_and_writes_nothing(string name)
    {
        var c = Cases[name];
        var before = _app.Wal.LastLsn;
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
        if (c.Body is not null)
        {
            HttpContent content = c.Chunked ? new StreamContent(new MemoryStream(c.Body)) : new ByteArrayContent(c.Body);
            if (c.ContentType.Length > 0)
            {
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType);
            }

            request.Content = content;
            if (c.Chunked)
            {
                request.Headers.TransferEncodingChunked = true;
            }
        }

        if (!c.NoRequestId)
        {
            request.Headers.Add("X-Request-Id", NvTestApp.NewRequestId());
        }

        foreach (var (header, value) in c.Headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        var response = await _app.Client.SendAsync(request, TestContext.Current.CancellationToken);
        await NvTestApp.AssertProblemAsync(response, c.Status, c.Type);
        Assert.Equal(before, _app.Wal.LastLsn);
    }
}
