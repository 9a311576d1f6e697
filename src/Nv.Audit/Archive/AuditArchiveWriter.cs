using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;
using Nv.Wal.IO;

namespace Nv.Audit.Archive;

/// <summary>Writes one archive file (<see cref="AuditArchiveFormat"/>) durably: into <c>&lt;file&gt;.tmp</c>, then a checked
/// fsync, a rename onto the final name and a checked fsync of the directory.</summary>
/// <remarks>Not thread-safe. Dispose without <see cref="Complete"/> deletes the temp file (an exception part-way); a crash
/// leaves it behind, and the next run of the same range overwrites it.</remarks>
internal sealed class AuditArchiveWriter : IDisposable
{
    private readonly string _temp;
    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private readonly Utf8JsonWriter _json;
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private long _entries;
    private DateTimeOffset _lastTimestamp = DateTimeOffset.MinValue;
    private bool _completed;

    public AuditArchiveWriter(string path, string chain, long firstSequence, string prevHash, IReadOnlyList<MerkleHash> frontier, DateTimeOffset created)
    {
        Path = System.IO.Path.GetFullPath(path);
        _temp = Path + ".tmp";
        DurableFile.SyncDirectory(System.IO.Path.GetDirectoryName(Path)!); // created durably: the file's entry will live in it
        _file = new FileStream(_temp, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024);
        _gzip = new GZipStream(_file, CompressionLevel.Optimal, leaveOpen: true);
        _json = new Utf8JsonWriter(_gzip);
        _json.WriteStartObject();
        _json.WriteString("format", AuditArchiveFormat.Format);
        _json.WriteString("chain", chain);
        _json.WriteNumber("firstSequence", firstSequence);
        _json.WriteString("prevHash", prevHash);
        _json.WriteStartArray("frontier");
        foreach (var hash in frontier)
        {
            _json.WriteStringValue(hash.ToHex());
        }

        _json.WriteEndArray();
        _json.WriteString("created", created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        _json.WriteEndObject();
        EndLine();
    }

    /// <summary>The final file.</summary>
    public string Path { get; }

    /// <summary>Entries written so far.</summary>
    public long Entries => _entries;

    /// <summary>The newest timestamp among the entries written.</summary>
    public DateTimeOffset LastTimestamp => _lastTimestamp;

    public void Add(AuditEntry entry)
    {
        ArchiveEntryJson.Write(_json, entry, _scratch);
        EndLine();
        _entries++;
        _lastTimestamp = entry.Timestamp > _lastTimestamp ? entry.Timestamp : _lastTimestamp;
    }

    /// <summary>Writes the end line, makes the temp file durable and returns its SHA-256; <see cref="Publish"/> renames it.</summary>
    public string Complete(long lastSequence, string lastHash, SignedCheckpoint checkpoint, string publicKeyPem)
    {
        _json.WriteStartObject();
        _json.WriteBoolean("end", true);
        _json.WriteNumber("lastSequence", lastSequence);
        _json.WriteString("lastHash", lastHash);
        _json.WriteNumber("entries", _entries);
        _json.WriteString("lastTimestamp", AuditCanonicalEncoding.FormatTimestamp(_lastTimestamp));
        _json.WriteString("checkpoint", checkpoint.ToText());
        _json.WriteString("publicKey", publicKeyPem);
        _json.WriteEndObject();
        EndLine();
        _json.Dispose();
        _gzip.Dispose();
        DurableFile.Sync(_file);
        _file.Dispose();
        _completed = true;
        using var read = File.OpenRead(_temp);
        return Convert.ToHexStringLower(SHA256.HashData(read));
    }

    /// <summary>Renames the completed temp file onto <see cref="Path"/> (replacing a file a crashed run left) and syncs the directory.</summary>
    public void Publish()
    {
        File.Move(_temp, Path, overwrite: true);
        DurableFile.SyncDirectory(System.IO.Path.GetDirectoryName(Path)!);
    }

    public void Dispose()
    {
        if (_completed)
        {
            return;
        }

        _json.Dispose();
        _gzip.Dispose();
        _file.Dispose();
        File.Delete(_temp);
    }

    private void EndLine()
    {
        _json.Flush();
        _json.Reset();
        _gzip.WriteByte((byte)'\n');
    }
}
