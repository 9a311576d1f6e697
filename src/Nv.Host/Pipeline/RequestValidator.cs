using System.Text.Json;
using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>Refuses bad write requests before anything reaches the WAL.</summary>
/// <remarks>Payload keys are never trusted: keys that a document database would interpret (<c>$</c>-prefixed, dotted,
/// containing NUL or other control characters), Nv's reserved <c>_nv</c> prefix, duplicate keys, and payloads over the
/// configured size or nesting depth are all refused.</remarks>
internal sealed class RequestValidator
{
    internal const int MaxRequestIdLength = 128;
    internal const int MaxEntityIdLength = 200;
    internal const int MaxUserIdLength = 256;
    internal const int MaxReasonLength = 2048;
    internal const int MaxMetadataEntries = 64;
    internal const int MaxMetadataKeyLength = 128;
    internal const int MaxMetadataValueLength = 1024;
    internal const int MaxKeyLength = 256;

    private readonly int _maxPayloadBytes;
    private readonly int _maxDepth;

    public RequestValidator(PipelineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxPayloadBytes = options.MaxPayloadBytes;
        _maxDepth = options.MaxPayloadDepth;
    }

    /// <summary>Refuses an ack level that is not one of the three (a cast integer would otherwise be answered as Applied).</summary>
    internal static void CheckAck(AckLevel? ack)
    {
        if (ack is { } level && !Enum.IsDefined(level))
        {
            throw new WriteValidationException("ack", "must be durable, applied or audited");
        }
    }

    /// <summary>Throws <see cref="WriteValidationException"/> naming the first problem found.</summary>
    public void Validate(WriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckToken(request.RequestId, "requestId", MaxRequestIdLength);
        CheckAck(request.Ack);
        if (!Enum.IsDefined(request.Operation) || request.Operation == WalOperation.Batch)
        {
            throw new WriteValidationException("operation", "must be create, update, delete or an audit event");
        }

        var auditEvent = request.Operation == WalOperation.AuditEvent;
        if (auditEvent && string.IsNullOrEmpty(request.DtoType))
        {
            // An audit event's entity type is optional.
        }
        else if (!IsValidDtoType(request.DtoType))
        {
            throw new WriteValidationException("dtoType", DtoTypeRule);
        }

        if (EntityIdProblem(request.EntityId) is { } entityIdProblem)
        {
            throw new WriteValidationException("entityId", entityIdProblem);
        }

        if (request.Version is < 0 or > 1_000_000)
        {
            throw new WriteValidationException("version", "must be between 0 and 1000000");
        }

        CheckText(request.UserId, "userId", MaxUserIdLength, required: false);
        CheckText(request.Reason, "reason", MaxReasonLength, required: false, allowNewlines: true);
        CheckMetadata(request.Metadata);
        if (request.ExpectedLsn is { Value: < 0 })
        {
            throw new WriteValidationException("expectedLsn", "must not be negative");
        }

        if (auditEvent)
        {
            ValidateAuditEvent(request);
            return;
        }

        if (request.Operation is WalOperation.Delete or WalOperation.Erase)
        {
            return;
        }

        if (request.Payload is not { ValueKind: JsonValueKind.Object } payload)
        {
            throw new WriteValidationException("payload", "must be a JSON object for create and update");
        }

        var size = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(payload).Length;
        if (size > _maxPayloadBytes)
        {
            throw new WriteValidationException("payload", $"is {size} bytes; the limit is {_maxPayloadBytes}", isTooLarge: true);
        }

        CheckObject(payload, "", 1);
    }

    /// <summary>What <see cref="IsValidDtoType"/> requires, for messages.</summary>
    internal const string DtoTypeRule =
        "must start with a letter, contain only letters, digits and '_', be at most 64 characters, and not be a name Nv keeps for itself (audit_entries)";
    // The event's payload (category, operation, optional before/after images): the images follow the rules of an entity
    // body (size, depth, keys), so whatever a store or a tool does with them later, they are as safe as entity states.
    private void ValidateAuditEvent(WriteRequest request)
    {
        if (request.ExpectedLsn is not null)
        {
            throw new WriteValidationException("expectedLsn", "an audit event has no entity version to expect");
        }

        if (request.Payload is not { ValueKind: JsonValueKind.Object } payload)
        {
            throw new WriteValidationException("payload", "must be an audit event (category, operation, before, after)");
        }

        var size = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(payload).Length;
        if (size > _maxPayloadBytes)
        {
            throw new WriteValidationException("payload", $"is {size} bytes; the limit is {_maxPayloadBytes}", isTooLarge: true);
        }

        try
        {
            var (_, _, before, after) = Nv.Audit.AuditEvents.ParsePayload(payload);
            if (before is { } b)
            {
                CheckValue(b, "/before", 1);
            }

            if (after is { } a)
            {
                CheckValue(a, "/after", 1);
            }
        }
        catch (FormatException ex)
        {
            throw new WriteValidationException("payload", ex.Message);
        }
    }

    /// <summary>The most a WAL record can hold besides its payload, reason and metadata: the fixed fields, the longest
    /// service, dtoType, entity id, request id, user id and replay key this validator accepts (UTF-8, up to 3 bytes per
    /// UTF-16 character) and the request fingerprint; with <paramref name="sealing"/> (encryption at rest on) also what
    /// sealing adds (key id, seal, subject, and a sealed audit event's plain category and operation; compression never
    /// makes a payload larger).</summary>
    internal static int MaxRecordOverheadBytes(PipelineOptions options, bool sealing = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        const int Fixed = 16 + 4 + 8 + 2 + 1 + 4 + 4 + 1 + 8; // id, version, timestamp, offset, operation, payload length, metadata count, expected LSN
        const int Strings = 8 * 4; // length prefixes: service, dtoType, entityId, replayKey, requestId, userId, reason, fingerprint
        const int Fingerprint = 32;
        // Encryption at rest: the envelope kind, the key id, the seal (header, nonce, tag) and the subject (type, '/', id).
        // A sealed audit event also carries its category (at most 18 ASCII characters) and operation in plain.
        const int Sealing = 1 + 16 + Nv.Wal.Protection.DataKey.SealOverhead + 4 + 64 + 1 + (MaxEntityIdLength * 3)
            + 4 + 18 + 4 + Nv.Audit.AuditEvents.MaxOperationLength;
        var environment = System.Text.Encoding.UTF8.GetByteCount(options.Environment ?? "");
        var service = System.Text.Encoding.UTF8.GetByteCount(options.Service ?? "");
        const int DtoType = 64;
        const int EntityId = MaxEntityIdLength * 3;
        const int Version = 7; // "1000000"
        var replayKey = environment + service + Version + DtoType + EntityId + 4;
        return Fixed + Strings + Fingerprint + (sealing ? Sealing : 0) + service + DtoType + EntityId + replayKey + MaxRequestIdLength + (MaxUserIdLength * 3);
    }

    /// <summary>Why <paramref name="entityId"/> is not a safe entity id, or null when it is.</summary>
    /// <remarks>The safe alphabet: 1–200 UTF-16 characters of printable Unicode (letters, digits, punctuation, symbols and
    /// spaces). Refused: '/' and '\' (path separators: an id is never a path, whatever a store or a tool later builds from
    /// it), the ids "." and ".." (path segments), control characters (C0, DEL, C1), format characters (Unicode category Cf:
    /// zero-width and bidirectional overrides, which make two different ids look the same) and unpaired surrogates (they
    /// cannot be encoded as UTF-8, so no JSON, BSON or SQLite text could hold them). Checked by the pipeline for every
    /// caller, and by the HTTP layer on every route (reads included).</remarks>
    internal static string? EntityIdProblem(string? entityId)
    {
        if (string.IsNullOrEmpty(entityId))
        {
            return "is required";
        }

        if (entityId.Length > MaxEntityIdLength)
        {
            return $"is longer than {MaxEntityIdLength} characters";
        }

        if (entityId is "." or "..")
        {
            return "may not be '.' or '..' (a path segment)";
        }

        for (var i = 0; i < entityId.Length; i++)
        {
            var c = entityId[i];
            if (c is '/' or '\\')
            {
                return "may not contain '/' or '\\'";
            }

            if (char.IsControl(c))
            {
                return "may not contain NUL or other control characters";
            }

            if (char.IsHighSurrogate(c) && i + 1 < entityId.Length && char.IsLowSurrogate(entityId[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return "may not contain unpaired surrogates";
            }

            if (char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format)
            {
                return "may not contain invisible format characters (zero-width or bidirectional controls)";
            }
        }

        return null;
    }

    internal static bool IsValidDtoType(string? dtoType)
    {
        // Nv's own collection names (the audit trail's) are not entity types: a write there would land in the audit trail.
        if (Nv.DbWriter.DtoTypes.IsReserved(dtoType))
        {
            return false;
        }

        if (string.IsNullOrEmpty(dtoType) || dtoType.Length > 64 || !char.IsAsciiLetter(dtoType[0]))
        {
            return false;
        }

        foreach (var c in dtoType)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private void CheckObject(JsonElement obj, string path, int depth)
    {
        if (depth > _maxDepth)
        {
            throw new WriteValidationException("payload" + path, $"nests deeper than {_maxDepth} levels");
        }

        HashSet<string>? seen = null;
        foreach (var property in obj.EnumerateObject())
        {
            var key = ReadText(() => property.Name, "payload" + path);
            var keyPath = path + "/" + key;
            CheckKey(key, path);
            seen ??= new HashSet<string>(StringComparer.Ordinal);
            if (!seen.Add(key))
            {
                throw new WriteValidationException("payload" + keyPath, "duplicate key");
            }

            CheckValue(property.Value, keyPath, depth);
        }
    }

    private void CheckValue(JsonElement value, string path, int depth)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String when HasUnicodeEscape(value):
                // Escaped lone surrogates ("\ud800") parse but cannot be decoded: later stages (audit diff, BSON) would fail.
                _ = ReadText(value.GetString, "payload" + path);
                break;
            case JsonValueKind.Object:
                CheckObject(value, path, depth + 1);
                break;
            case JsonValueKind.Array:
                if (depth + 1 > _maxDepth)
                {
                    throw new WriteValidationException("payload" + path, $"nests deeper than {_maxDepth} levels");
                }

                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    CheckValue(item, path + "/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), depth + 1);
                    i++;
                }

                break;
        }
    }

    private static void CheckKey(string key, string path)
    {
        var where = "payload" + path;
        if (key.Length == 0)
        {
            throw new WriteValidationException(where, "empty key");
        }

        if (key.Length > MaxKeyLength)
        {
            throw new WriteValidationException(where, $"key longer than {MaxKeyLength} characters");
        }

        // A lone surrogate cannot round-trip through UTF-8 (JSON text, BSON keys): refuse the key. Checked once per key.
        if (key.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF') && !IsWellFormedUtf16(key))
        {
            throw new WriteValidationException(where, "keys may not contain unpaired surrogates");
        }

        if (key[0] == '$')
        {
            throw new WriteValidationException(where + "/" + key, "keys may not start with '$' (database operator)");
        }

        if (key.StartsWith("_nv", StringComparison.Ordinal))
        {
            throw new WriteValidationException(where + "/" + key, "keys starting with '_nv' are reserved");
        }

        foreach (var c in key)
        {
            if (c == '.')
            {
                throw new WriteValidationException(where + "/" + key, "keys may not contain '.'");
            }

            if (char.IsControl(c))
            {
                throw new WriteValidationException(where, "keys may not contain NUL or control characters");
            }

        }
    }

    private static bool HasUnicodeEscape(JsonElement value) =>
        System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value).IndexOf("\\u"u8) >= 0;

    /// <summary>Reads a member name or string of a request body, refusing what cannot be read as text.</summary>
    /// <remarks>An escaped lone surrogate (<c>"\ud800"</c>) parses as JSON, but System.Text.Json throws
    /// InvalidOperationException when it is read as a string (a name, a value, even <c>NameEquals</c>): whatever reads a
    /// body's names or strings itself (the batch and audit-event handlers) reads them through here, so such a body is a
    /// 400 naming <paramref name="where"/>, not a 500.</remarks>
    /// <exception cref="WriteValidationException">The text holds an unpaired surrogate.</exception>
    internal static string ReadText(Func<string?> read, string where)
    {
        try
        {
            return read() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            throw new WriteValidationException(where, "keys and strings may not contain unpaired surrogates");
        }
    }

    private static bool IsWellFormedUtf16(string value)
    {
        try
        {
            _ = StrictUtf8.GetByteCount(value);
            return true;
        }
        catch (System.Text.EncoderFallbackException)
        {
            return false;
        }
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static void CheckToken(string? value, string field, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new WriteValidationException(field, "is required");
        }

        if (value.Length > maxLength)
        {
            throw new WriteValidationException(field, $"is longer than {maxLength} characters");
        }

        foreach (var c in value)
        {
            if (c <= ' ' || c > '~')
            {
                throw new WriteValidationException(field, "may contain only printable ASCII characters without spaces");
            }
        }
    }

    private static void CheckText(string? value, string field, int maxLength, bool required, bool allowNewlines = false)
    {
        if (value is null || value.Length == 0)
        {
            if (required)
            {
                throw new WriteValidationException(field, "is required");
            }

            return;
        }

        if (value.Length > maxLength)
        {
            throw new WriteValidationException(field, $"is longer than {maxLength} characters");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) && !(allowNewlines && (c == '\n' || c == '\r' || c == '\t')))
            {
                throw new WriteValidationException(field, "may not contain NUL or control characters");
            }
        }
    }

    private static void CheckMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        if (metadata.Count > MaxMetadataEntries)
        {
            throw new WriteValidationException("metadata", $"has more than {MaxMetadataEntries} entries");
        }

        foreach (var (key, value) in metadata)
        {
            CheckText(key, "metadata key", MaxMetadataKeyLength, required: true);
            if (key[0] == '$' || key.Contains('.', StringComparison.Ordinal))
            {
                throw new WriteValidationException("metadata/" + key, "keys may not start with '$' or contain '.'");
            }

            CheckText(value, "metadata/" + key, MaxMetadataValueLength, required: false, allowNewlines: true);
        }
    }
}
