using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Nv.Host.Http;

/// <summary>Reads a request body as one JSON object, refusing hostile input before anything is written.</summary>
/// <remarks>The body is never buffered past the configured limit: a declared <c>Content-Length</c> over it is refused
/// unread, and a chunked body is read only up to the limit + 1 byte (Kestrel's <c>MaxRequestBodySize</c> also stops it).
/// Invalid UTF-8, malformed or truncated JSON, nesting deeper than <see cref="HttpOptions.MaxJsonDepth"/>, duplicate-free
/// checks and key safety are left to <see cref="JsonDocument"/> and the pipeline's validator respectively.</remarks>
internal sealed class JsonBodyReader
{
    private readonly HttpOptions _options;

    public JsonBodyReader(IOptions<HttpOptions> options) => _options = options.Value;

    /// <summary>Parses the body; on failure returns the Problem to send instead (400, 413 or 415).</summary>
    public async Task<(JsonDocument? Document, IResult? Error)> ReadObjectAsync(HttpContext context, bool allowMergePatch, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (!IsJson(request.ContentType, allowMergePatch))
        {
            var accepted = allowMergePatch ? "application/json or application/merge-patch+json" : "application/json";
            return (null, Problems.Create(context, StatusCodes.Status415UnsupportedMediaType, ProblemTypes.UnsupportedMediaType,
                "Unsupported media type", $"The body must be {accepted} (UTF-8); got '{request.ContentType ?? "none"}'."));
        }

        var limit = _options.MaxRequestBodyBytes;
        if (request.ContentLength is { } declared && declared > limit)
        {
            return (null, Problems.TooLarge(context, $"The body is {declared} bytes; the limit is {limit}."));
        }

        byte[] buffer;
        int length;
        try
        {
            (buffer, length) = await ReadCappedAsync(request.Body, limit, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Problems.TooLarge(context, $"The body exceeds the limit of {limit} bytes."));
        }

        try
        {
            if (length > limit)
            {
                return (null, Problems.TooLarge(context, $"The body exceeds the limit of {limit} bytes."));
            }

            var bytes = buffer.AsMemory(0, length);
            if (length == 0)
            {
                return (null, Problems.Validation(context, "The body is empty; a JSON object is required.", "body"));
            }

            if (!Utf8.IsValid(bytes.Span))
            {
                return (null, Problems.Validation(context, "The body is not valid UTF-8.", "body"));
            }

            JsonDocument document;
            try
            {
                // JsonDocument keeps the memory it parses for its whole life; the pooled buffer goes back to the pool below
                // (another request may rent it while this one still reads its document), so it parses its own copy.
                document = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth });
            }
            catch (JsonException ex)
            {
                return (null, Problems.Validation(context, "The body is not valid JSON: " + ex.Message, "body"));
            }

            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = document.RootElement.ValueKind;
                document.Dispose();
                return (null, Problems.Validation(context, $"The body must be a JSON object, not {kind.ToString().ToLowerInvariant()}.", "body"));
            }

            return (document, null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsJson(string? contentType, bool allowMergePatch)
    {
        if (string.IsNullOrEmpty(contentType) || !Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return false;
        }

        if (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (allowMergePatch && media.MediaType.Equals("application/merge-patch+json", StringComparison.OrdinalIgnoreCase));
    }

    // Reads at most limit + 1 bytes into a pooled buffer: one byte past the limit is enough to know it is too large.
    private static async Task<(byte[] Buffer, int Length)> ReadCappedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        var cap = (int)Math.Min(limit + 1, int.MaxValue);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(cap, 16 * 1024));
        var length = 0;
        try
        {
            while (length < cap)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(cap, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await body.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, cap) - length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }
}
