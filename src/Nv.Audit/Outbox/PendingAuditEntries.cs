using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Nv.Wal.IO;

namespace Nv.Audit.Outbox;

/// <summary>A durable parking place for audit entries that no WAL record backs (service start/stop, authentication and
/// permission denials) while the audit store cannot take them, so that they too are never lost.</summary>
/// <remarks>
/// Entries of WAL records need no parking: the backfill rebuilds them from the WAL. The others exist nowhere else, so
/// when an append fails each is written to its own file under <c>&lt;data&gt;/audit-pending/</c> (temp file, checked
/// fsync, rename, directory fsync) and appended later; the audit sink skips ids it already holds, so a file left behind
/// by a crash between the append and the delete costs nothing. File format (version 2):
/// <c>{"format":"nv-pending-audit-entry/2","sha256":"&lt;hex of the entry's bytes&gt;","entry":{...}}</c>; version 2 adds
/// the entry's <c>before</c>, <c>after</c> and <c>changes</c> (canonical JSON text, or null) that environment-change entries
/// carry; version-1 files (no images) are still read. A file that
/// does not parse or whose digest does not match is moved aside as <c>*.broken</c> and reported, never appended.
/// Bounded: past <see cref="Capacity"/> parked entries a new one is refused (the caller logs it), so a flood of denied
/// requests during an outage cannot fill the disk. Not thread-safe: the audit coordinator serialises its callers.
/// </remarks>
public sealed class PendingAuditEntries
{
    /// <summary>The folder inside the data directory.</summary>
    public const string FolderName = "audit-pending";

    private const string Format = "nv-pending-audit-entry/2";
    private const string Format1 = "nv-pending-audit-entry/1";
    private const string Extension = ".json";

    private readonly string _directory;

    /// <param name="dataDirectory">Nv's data directory; the folder is created on the first park.</param>
    /// <param name="capacity">Most entries kept at once.</param>
    public PendingAuditEntries(string dataDirectory, int capacity = 10_000)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _directory = Path.Combine(Path.GetFullPath(dataDirectory), FolderName);
        Capacity = capacity;
    }

    /// <summary>Most entries kept at once.</summary>
    public int Capacity { get; }

    /// <summary>Entries parked now.</summary>
    public int Count => Directory.Exists(_directory) ? Directory.GetFiles(_directory, "*" + Extension).Length : 0;

    /// <summary>Writes <paramref name="entry"/> durably. Returns false (nothing written) when <see cref="Capacity"/> is reached.</summary>
    /// <exception cref="ArgumentException">The entry belongs to a WAL record (the backfill covers those) or is invalid.</exception>
    /// <exception cref="IOException">The file could not be made durable.</exception>
    public bool Park(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // Entries no WAL record backs carry no LSN or WAL record hash; they may carry images (environment-change).
        if (entry.Lsn is not null || entry.WalRecordHash is not null)
        {
            throw new ArgumentException("Only entries without a WAL record are parked; the backfill rebuilds the others.", nameof(entry));
        }

        AuditEntryValidation.Validate(entry);
        if (Count >= Capacity)
        {
            return false;
        }

        DurableFile.Write(Path.Combine(_directory, entry.Id.ToString("N") + Extension), Encode(entry));
        return true;
    }

    /// <summary>The parked entries, oldest first, each with the file to <see cref="Remove"/> once it is stored.</summary>
    /// <param name="damaged">Told about each file that is not a valid parked entry (it is moved aside as <c>*.broken</c>).</param>
    public IReadOnlyList<ParkedAuditEntry> Load(Action<string, Exception> damaged)
    {
        ArgumentNullException.ThrowIfNull(damaged);
        var parked = new List<ParkedAuditEntry>();
        if (!Directory.Exists(_directory))
        {
            return parked;
        }

        foreach (var path in Directory.GetFiles(_directory, "*" + Extension))
        {
            try
            {
                parked.Add(new ParkedAuditEntry(Decode(File.ReadAllBytes(path)), path));
            }
            catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException or KeyNotFoundException or InvalidOperationException)
            {
                File.Move(path, path + ".broken", overwrite: true);
                damaged(path, ex);
            }
        }

        parked.Sort(static (a, b) => a.Entry.Timestamp.CompareTo(b.Entry.Timestamp) is var c && c != 0 ? c : a.Entry.Id.CompareTo(b.Entry.Id));
        return parked;
    }

    /// <summary>Forgets a parked entry after the audit store took it.</summary>
    public static void Remove(ParkedAuditEntry parked)
    {
        ArgumentNullException.ThrowIfNull(parked);
        File.Delete(parked.Path);
    }

    internal static byte[] Encode(AuditEntry entry)
    {
        var body = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("id", entry.Id);
            w.WriteString("timestamp", entry.Timestamp.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("service", entry.Service);
            w.WriteString("category", entry.Category.ToString());
            w.WriteString("operation", entry.Operation);
            w.WriteString("userId", entry.UserId);
            w.WriteString("dtoType", entry.DtoType);
            w.WriteString("entityId", entry.EntityId);
            w.WriteString("reason", entry.Reason);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in entry.Metadata.OrderBy(static p => p.Key, StringComparer.Ordinal))
            {
                w.WriteString(key, value);
            }

            w.WriteEndObject();
            w.WriteString("requestId", entry.RequestId);
            w.WriteString("before", entry.Before is { } before ? Chain.CanonicalJson.ToText(before) : null);
            w.WriteString("after", entry.After is { } after ? Chain.CanonicalJson.ToText(after) : null);
            var changes = new ArrayBufferWriter<byte>(256);
            Chain.CanonicalJson.WriteChanges(entry.Changes, changes);
            w.WriteString("changes", System.Text.Encoding.UTF8.GetString(changes.WrittenSpan));
            w.WriteEndObject();
        }

        var file = new ArrayBufferWriter<byte>(body.WrittenCount + 128);
        using (var w = new Utf8JsonWriter(file))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("sha256", Convert.ToHexStringLower(SHA256.HashData(body.WrittenSpan)));
            w.WritePropertyName("entry");
            w.WriteRawValue(body.WrittenSpan, skipInputValidation: true);
            w.WriteEndObject();
        }

        return file.WrittenSpan.ToArray();
    }

    internal static AuditEntry Decode(byte[] bytes)
    {
        using var document = JsonDocument.Parse(bytes);
        var root = document.RootElement;
        var format = root.GetProperty("format").GetString();
        if (format is not (Format or Format1))
        {
            throw new FormatException($"Not a parked audit entry of format {Format} (or {Format1}).");
        }

        // GetRawText is the element's original text, so its UTF-8 bytes are the bytes the digest was taken over.
        var entry = root.GetProperty("entry");
        var digest = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(entry.GetRawText())));
        if (!string.Equals(digest, root.GetProperty("sha256").GetString(), StringComparison.Ordinal))
        {
            throw new FormatException("The parked audit entry does not match its SHA-256 digest.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in entry.GetProperty("metadata").EnumerateObject())
        {
            metadata.Add(pair.Name, pair.Value.GetString() ?? throw new FormatException($"Metadata '{pair.Name}' is null."));
        }

        var decoded = new AuditEntry
        {
            Id = entry.GetProperty("id").GetGuid(),
            Timestamp = DateTimeOffset.Parse(entry.GetProperty("timestamp").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            Service = entry.GetProperty("service").GetString()!,
            Category = Enum.Parse<AuditCategory>(entry.GetProperty("category").GetString()!, ignoreCase: false),
            Operation = entry.GetProperty("operation").GetString()!,
            UserId = entry.GetProperty("userId").GetString(),
            DtoType = entry.GetProperty("dtoType").GetString(),
            EntityId = entry.GetProperty("entityId").GetString()!,
            Reason = entry.GetProperty("reason").GetString(),
            Metadata = metadata,
            RequestId = entry.GetProperty("requestId").GetString()!,
        };
        if (format == Format)
        {
            decoded = decoded with
            {
                Before = Chain.StoredJson.Value(entry.GetProperty("before").GetString()),
                After = Chain.StoredJson.Value(entry.GetProperty("after").GetString()),
                Changes = Chain.StoredJson.Changes(entry.GetProperty("changes").GetString() ?? throw new FormatException("changes is null"))
                    is { Count: > 0 } changes ? changes : Array.Empty<FieldChange>(),
            };
        }

        AuditEntryValidation.Validate(decoded);
        return decoded;
    }
}

/// <summary>An entry read back from <see cref="PendingAuditEntries"/>, with its file.</summary>
public sealed record ParkedAuditEntry(AuditEntry Entry, string Path);
