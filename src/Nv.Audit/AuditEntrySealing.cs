using System.Buffers;
using System.Text.Json;
using Nv.Audit.Chain;
using Nv.Wal.Protection;

namespace Nv.Audit;

/// <summary>Encryption at rest of audit entries: an entry's before image, after image and field changes are sealed
/// together under its subject's data key, and the entry commits to the ciphertext (encoding version 3).</summary>
/// <remarks>
/// The sealed plaintext is the canonical JSON object <c>{"after":…,"before":…,"changes":[…]}</c> (a side that is absent
/// is omitted), sealed with <see cref="DataKey.Seal"/> (compressed first when that pays) and bound to
/// <c>"nv-audit-entry-v1" ‖ entry id ‖ key id</c>, so it cannot be moved to another entry or key. The synthetic nonce makes
/// an entry rebuilt from the WAL after a power loss byte-identical to the lost one. Once the key is destroyed, the
/// ciphertext stays in the trail and keeps every hash and proof valid, but nobody can read it: the entry is erased.
/// </remarks>
public static class AuditEntrySealing
{
    private const int MaxKeptPlaintext = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _plaintext;

    private static ReadOnlySpan<byte> Context => "nv-audit-entry-v1"u8;

    /// <summary>The entry with its data sealed under <paramref name="key"/>: <see cref="AuditEntry.KeyId"/> and
    /// <see cref="AuditEntry.Sealed"/> set, before, after and changes cleared.</summary>
    public static AuditEntry Seal(AuditEntry entry, DataKey key)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(key);
        // One buffer per thread, reused (a fresh one grew by doubling from 1 KiB for every entry: most of what the
        // encrypted pipeline allocated), and zeroed after each use: it held the entry's data in plain.
        var plaintext = _plaintext ??= new ArrayBufferWriter<byte>(8192);
        byte[] sealedBytes;
        try
        {
            WritePlaintext(entry, plaintext);
            sealedBytes = key.Seal(plaintext.WrittenSpan, AssociatedData(entry.Id, key.Id), compress: true);
        }
        finally
        {
            plaintext.Clear();
            if (plaintext.Capacity > MaxKeptPlaintext)
            {
                _plaintext = null; // a rare large entry: do not keep its buffer alive on this thread
            }
        }

        return entry with
        {
            KeyId = key.Id,
            Sealed = sealedBytes,
            Before = null,
            After = null,
            Changes = [],
            Erased = false,
        };
    }

    /// <summary>The entry of data whose key was destroyed before the entry was written: it names the key, holds no data
    /// and reads as erased.</summary>
    public static AuditEntry SealedWithoutData(AuditEntry entry, Guid keyId)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry with { KeyId = keyId, Sealed = null, Before = null, After = null, Changes = [], Erased = true };
    }

    /// <summary>The entry with its before, after and changes read back from <see cref="AuditEntry.Sealed"/> (the sealed
    /// fields stay, so it still encodes and hashes as stored). An entry stored in plain is returned as it is.</summary>
    /// <exception cref="PayloadSealException">The sealed data was changed, moved from another entry, or sealed under another key.</exception>
    public static AuditEntry Open(AuditEntry entry, DataKey key)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(key);
        if (entry.KeyId is null)
        {
            return entry;
        }

        if (entry.Sealed is null)
        {
            return entry with { Erased = true };
        }

        var plaintext = key.Open(entry.Sealed, AssociatedData(entry.Id, entry.KeyId.Value));
        try
        {
            using var document = JsonDocument.Parse(plaintext);
            var root = document.RootElement;
            return entry with
            {
                Before = root.TryGetProperty("before", out var before) ? before.Clone() : null,
                After = root.TryGetProperty("after", out var after) ? after.Clone() : null,
                Changes = root.TryGetProperty("changes", out var changes) ? ReadChanges(changes) : [],
                Erased = false,
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new PayloadSealException($"The sealed data of audit entry {entry.Id} opens but is not what Nv seals.", entry.KeyId.Value, ex);
        }
    }

    /// <summary>The entry as a reader with <paramref name="keys"/> sees it: opened when its key exists, else (erased, or no
    /// keys) unreadable. A sealed value that does not authenticate (tampering) also reads as unreadable here; verification
    /// reports it, since the hash covers the ciphertext.</summary>
    public static AuditEntry OpenWith(AuditEntry entry, IDataKeyProvider? keys)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.KeyId is not { } keyId)
        {
            return entry;
        }

        if (keys is null || !keys.TryGetKey(keyId, out var key))
        {
            return Unreadable(entry);
        }

        try
        {
            return Open(entry, key);
        }
        catch (PayloadSealException)
        {
            return Unreadable(entry);
        }
    }

    /// <summary>Every entry of a page as <see cref="OpenWith(AuditEntry, IDataKeyProvider?)"/> reads it.</summary>
    public static AuditPage OpenWith(AuditPage page, IDataKeyProvider? keys)
    {
        ArgumentNullException.ThrowIfNull(page);
        return page.Entries.Any(static e => e.KeyId is not null) ? page with { Entries = [.. page.Entries.Select(e => OpenWith(e, keys))] } : page;
    }

    /// <summary>The entry as a reader without its key sees it: sealed, its data unreadable (<see cref="AuditEntry.Erased"/>).</summary>
    public static AuditEntry Unreadable(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.KeyId is null ? entry : entry with { Before = null, After = null, Changes = [], Erased = true };
    }

    /// <summary>The associated data an entry's sealed data is bound to.</summary>
    public static byte[] AssociatedData(Guid entryId, Guid keyId)
    {
        var ad = new byte[Context.Length + 32];
        Context.CopyTo(ad);
        entryId.TryWriteBytes(ad.AsSpan(Context.Length, 16), bigEndian: true, out _);
        keyId.TryWriteBytes(ad.AsSpan(Context.Length + 16, 16), bigEndian: true, out _);
        return ad;
    }

    private static void WritePlaintext(AuditEntry entry, ArrayBufferWriter<byte> output)
    {
        output.Write("{"u8);
        var first = true;
        if (entry.After is { } after)
        {
            output.Write("\"after\":"u8);
            CanonicalJson.Write(after, output);
            first = false;
        }

        if (entry.Before is { } before)
        {
            output.Write(first ? "\"before\":"u8 : ",\"before\":"u8);
            CanonicalJson.Write(before, output);
            first = false;
        }

        output.Write(first ? "\"changes\":"u8 : ",\"changes\":"u8);
        CanonicalJson.WriteChanges(entry.Changes, output);
        output.Write("}"u8);
    }

    private static List<FieldChange> ReadChanges(JsonElement array)
    {
        var changes = new List<FieldChange>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            var path = item.GetProperty("path").GetString() ?? throw new InvalidOperationException("change path is null");
            JsonElement? before = item.TryGetProperty("before", out var b) ? b.Clone() : null;
            JsonElement? after = item.TryGetProperty("after", out var a) ? a.Clone() : null;
            changes.Add(new FieldChange(path, before, after));
        }

        return changes;
    }
}
