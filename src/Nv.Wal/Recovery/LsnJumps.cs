using System.Buffers.Binary;
using System.Globalization;
using Nv.Wal.Framing;
using Nv.Wal.IO;

namespace Nv.Wal.Recovery;

/// <summary>The sanctioned LSN jumps of a log (file <c>lsn-jumps</c> in the WAL directory): the only places where recovery
/// accepts a record whose LSN does not directly follow the previous record's.</summary>
/// <remarks>
/// <para>An entry (after, next) says: the record with LSN <c>next</c> may follow the record with LSN <c>after</c>; LSNs
/// after+1..next-1 were never in this log. Entries come from <see cref="IWriteAheadLog.ContinueAfterAsync"/> (data ahead of
/// the WAL: LSNs continue above the highest the stores hold), from records skipped in
/// <see cref="WalRecoveryMode.SkipAnyCorruptedRecord"/> recovery, and from continuing above watermarks that are ahead of
/// the log. <see cref="Floor"/> (the highest next - 1) is the lowest LSN the log may end at, so a jump survives a crash
/// before the next append and the truncation of every record before it.</para>
/// <para>Format v1, little-endian: magic "NVLJ" u32 | version u32 (1) | count u32 | reserved u32 (0) |
/// count × (after i64, next i64) | CRC-32C u32 of everything before it. Written whole with <see cref="DurableFile"/>
/// (temp file, checked fsync, rename, checked directory fsync): after a crash it is the old list or the new one. A file
/// that fails its checks refuses the open (<see cref="WalCorruptionException"/>): the jumps cannot be recomputed.</para>
/// <para>Versioning rule: every later version keeps magic and version first and, in its last 4 bytes, the CRC-32C of every
/// byte before them. So this build checks a newer file like its own and refuses the open as written by a newer Nv
/// (<see cref="WalFormatTooNewException"/>, every recovery mode, the file untouched): never reported as damage, whose advice
/// (delete it) would let this build write its own version 1 over it. Only an intact file is newer: the same version with a
/// bad CRC is damage.</para>
/// <para>Migration from logs written before this file existed (version 0: no file next to existing segments): such a
/// log accepted any jump between two adjacent records (how a skip rebuilt holes). Its first open under v1 accepts those
/// adjacent jumps once, records them, and writes the file; from then on only recorded jumps are accepted.</para>
/// </remarks>
internal sealed class LsnJumps
{
    public const string FileName = "lsn-jumps";
    private const uint Magic = 0x4A4C564E; // "NVLJ"
    private const uint Version = 1;
    private const int HeaderSize = 16;
    private const int EntrySize = 16;

    private readonly List<(long After, long Next)> _entries;

    private LsnJumps(List<(long After, long Next)> entries, bool legacy)
    {
        _entries = entries;
        Legacy = legacy;
    }

    /// <summary>No file was found next to an existing log (version 0): adjacent jumps are accepted until the file is written.</summary>
    public bool Legacy { get; }

    /// <summary>The recorded jumps, oldest first.</summary>
    public IReadOnlyList<(long After, long Next)> Entries => _entries;

    /// <summary>The lowest LSN the log may end at: the highest LSN a jump skipped (0 when there is none).</summary>
    public long Floor => _entries.Count == 0 ? 0 : _entries.Max(e => e.Next - 1);

    /// <summary>An empty list for a new log.</summary>
    public static LsnJumps Empty { get; } = new([], legacy: false);

    /// <summary>Whether the record with LSN <paramref name="next"/> may follow the one with LSN <paramref name="after"/>.</summary>
    public bool Allows(long after, long next) => _entries.Contains((after, next));

    /// <summary>This list with the jump (after, next) recorded, replacing an earlier one from the same record (only the
    /// record physically following <paramref name="after"/> can use it).</summary>
    public LsnJumps With(long after, long next)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(next, after + 1);
        var entries = _entries.Where(e => e.After != after).ToList();
        entries.Add((after, next));
        return new LsnJumps(entries, legacy: false);
    }

    /// <summary>What <see cref="Decode"/> found.</summary>
    public enum DecodeStatus
    {
        /// <summary>An intact list of the version this build writes.</summary>
        Valid,

        /// <summary>Bytes that are not an intact list (bad size, magic, CRC, length, version 0 or an invalid jump).</summary>
        Damaged,

        /// <summary>An intact list (magic and CRC check) of a version only a newer Nv writes.</summary>
        Newer,
    }

    /// <summary>Reads the file in <paramref name="directory"/>; a missing file is <see cref="Empty"/> for a new log and
    /// <see cref="Legacy"/> when <paramref name="logExists"/>.</summary>
    /// <exception cref="WalCorruptionException">The file exists but is damaged.</exception>
    /// <exception cref="WalFormatTooNewException">The file is intact and of a version only a newer Nv writes.</exception>
    public static LsnJumps Load(string directory, bool logExists)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return logExists ? new LsnJumps([], legacy: true) : Empty;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Damaged(path, $"cannot be read ({ex.Message})", ex);
        }

        switch (Decode(bytes, out var entries, out var problem))
        {
            case DecodeStatus.Newer:
                throw new WalFormatTooNewException(path, "LSN jump list " + problem,
                    string.Create(CultureInfo.InvariantCulture, $"LSN jump list version {Version}"));
            case DecodeStatus.Damaged:
                throw Damaged(path, problem!, null);
        }

        return new LsnJumps(entries, legacy: false);
    }

    /// <summary>Durably replaces the file. Throws <see cref="IOException"/> (incl. <see cref="NativeSyncException"/>) on failure.</summary>
    public void Save(string directory) => DurableFile.Write(Path.Combine(directory, FileName), Encode(_entries));

    public static byte[] Encode(IReadOnlyList<(long After, long Next)> entries)
    {
        var bytes = new byte[HeaderSize + (entries.Count * EntrySize) + 4];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[(HeaderSize + (i * EntrySize))..], entries[i].After);
            BinaryPrimitives.WriteInt64LittleEndian(span[(HeaderSize + (i * EntrySize) + 8)..], entries[i].Next);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span[^4..], Crc32C.Compute(span[..^4]));
        return bytes;
    }

    /// <summary>Whether <paramref name="bytes"/> are an intact list of the version this build writes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out List<(long After, long Next)> entries, out string? problem) =>
        Decode(bytes, out entries, out problem) == DecodeStatus.Valid;

    /// <summary>Decodes <paramref name="bytes"/>: magic, size and CRC first (where every version keeps them), then the
    /// version, so only an intact list is <see cref="DecodeStatus.Newer"/> (then <paramref name="problem"/> is "version N").</summary>
    public static DecodeStatus Decode(ReadOnlySpan<byte> bytes, out List<(long After, long Next)> entries, out string? problem)
    {
        entries = [];
        if (bytes.Length < HeaderSize + 4 || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            problem = "is not an LSN jump list (bad size or magic)";
            return DecodeStatus.Damaged;
        }

        if (Crc32C.Compute(bytes[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(bytes[^4..]))
        {
            problem = "fails its CRC-32C";
            return DecodeStatus.Damaged;
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version > Version)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"version {version}");
            return DecodeStatus.Newer;
        }

        if (version != Version)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"has version {version}; this Nv reads version {Version}");
            return DecodeStatus.Damaged;
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        if (count < 0 || (long)HeaderSize + ((long)count * EntrySize) + 4 != bytes.Length
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]) != 0)
        {
            problem = "has a bad length";
            return DecodeStatus.Damaged;
        }

        for (var i = 0; i < count; i++)
        {
            var after = BinaryPrimitives.ReadInt64LittleEndian(bytes[(HeaderSize + (i * EntrySize))..]);
            var next = BinaryPrimitives.ReadInt64LittleEndian(bytes[(HeaderSize + (i * EntrySize) + 8)..]);
            if (after < 0 || next <= after + 1)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"holds an invalid jump ({after} -> {next})");
                return DecodeStatus.Damaged;
            }

            entries.Add((after, next));
        }

        problem = null;
        return DecodeStatus.Valid;
    }

    private static WalCorruptionException Damaged(string path, string problem, Exception? inner) =>
        new($"The WAL's LSN jump list '{path}' {problem}. It records where LSNs were deliberately skipped and cannot be recomputed: "
            + "restore it from a copy of the WAL directory. Deleting it makes the log open only if its LSNs are dense (or jump between "
            + "adjacent records, as logs written before this file existed did), and loses any LSN floor it set.",
            path, 0, Lsn.None, inner);
}
