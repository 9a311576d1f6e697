using System.Buffers;
using Nv.Audit.Merkle;

namespace Nv.Audit.Chain;

/// <summary>Checks a stream of stored entries, chain by chain in sequence order, and remembers the first broken one.</summary>
/// <remarks>Store-agnostic and streaming: it keeps one chain's tail, never the trail. Feed entries ordered by
/// (chain, sequence). The optional storage position (SQLite rowid, insertion order) catches entries that were
/// moved: a chain is written in sequence order, so its storage positions must increase with the sequence.
/// A hash chain without an external anchor detects partial tampering only; an attacker who rewrites every
/// entry from some point on can recompute the hashes (signed checkpoints will close that gap).</remarks>
internal sealed class AuditChainVerifier
{
    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly IReadOnlyDictionary<string, (long Sequence, string Hash)>? _starts;
    private string? _chain;
    private long _lastSequence;
    private string _lastHash = AuditHash.Genesis;
    private long _lastPosition = long.MinValue;
    private int _lastVersion;

    /// <summary>A verifier whose chains start at sequence 1.</summary>
    public AuditChainVerifier()
    {
    }

    /// <summary>A verifier for chains whose first entries were pruned (or lie in an earlier archive): a chain named in
    /// <paramref name="starts"/> continues after that sequence, linking to that hash.</summary>
    public AuditChainVerifier(IReadOnlyDictionary<string, (long Sequence, string Hash)> starts) => _starts = starts;

    /// <summary>Entries checked so far.</summary>
    public long EntriesChecked { get; private set; }

    /// <summary>The Merkle leaf hash of the last entry accepted by <see cref="Add"/>: <c>SHA-256(0x00 || canonical bytes)</c>.</summary>
    public MerkleHash LastLeafHash { get; private set; }

    /// <summary>Whether a broken entry has been found; once set, later entries are ignored.</summary>
    public bool IsBroken => BrokenChain is not null;

    /// <summary>The chain of the first broken entry.</summary>
    public string? BrokenChain { get; private set; }

    /// <summary>Sequence of the first broken entry.</summary>
    public long? BrokenSequence { get; private set; }

    /// <summary>Why the first broken entry is broken.</summary>
    public string? Reason { get; private set; }

    /// <summary>Checks the next entry; returns false once the trail is known to be broken.</summary>
    /// <param name="entry">The stored entry.</param>
    /// <param name="storagePosition">Its insertion position in the store, or null when the store has none.</param>
    public bool Add(AuditEntry entry, long? storagePosition = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (IsBroken)
        {
            return false;
        }

        if (!string.Equals(entry.Service, _chain, StringComparison.Ordinal))
        {
            _chain = entry.Service;
            (_lastSequence, _lastHash) = _starts is not null && _starts.TryGetValue(entry.Service, out var start) ? start : (0, AuditHash.Genesis);
            _lastPosition = long.MinValue;
            _lastVersion = 0;
        }

        EntriesChecked++;
        var reason = Check(entry, storagePosition);
        if (reason is not null)
        {
            BrokenChain = entry.Service;
            BrokenSequence = entry.Sequence;
            Reason = reason;
            return false;
        }

        _lastSequence = entry.Sequence;
        _lastHash = entry.Hash;
        _lastPosition = storagePosition ?? long.MinValue;
        _lastVersion = AuditCanonicalEncoding.VersionOf(entry);
        return true;
    }

    /// <summary>The result so far.</summary>
    public AuditVerification ToResult() => new()
    {
        IsValid = !IsBroken,
        EntriesChecked = EntriesChecked,
        BrokenChain = BrokenChain,
        BrokenSequence = BrokenSequence,
        Reason = Reason,
    };

    private string? Check(AuditEntry entry, long? storagePosition)
    {
        var expected = _lastSequence + 1;
        if (entry.Sequence == _lastSequence)
        {
            return $"duplicate sequence {entry.Sequence} (forged or copied entry)";
        }

        if (entry.Sequence < expected)
        {
            return $"out of order: sequence {entry.Sequence} after {_lastSequence}";
        }

        if (entry.Sequence > expected)
        {
            return entry.Sequence - 1 == expected
                ? $"sequence gap: entry {expected} is missing (entry deleted)"
                : $"sequence gap: entries {expected}..{entry.Sequence - 1} are missing (entries deleted)";
        }

        if (storagePosition is { } position && position <= _lastPosition)
        {
            return "out of order: stored before the entry that precedes it in the chain (entries reordered)";
        }

        if (!string.Equals(entry.PrevHash, _lastHash, StringComparison.Ordinal))
        {
            return "prevHash mismatch: does not link to the previous entry (entry reordered, replaced or forged)";
        }

        if (entry.EncodingVersion is < 0 or > AuditCanonicalEncoding.LatestVersion)
        {
            return $"unknown encoding version {entry.EncodingVersion} (entry edited)";
        }

        var version = AuditCanonicalEncoding.VersionOf(entry);
        if (version < _lastVersion)
        {
            return $"encoding version {version} after version {_lastVersion} (entry edited or forged)";
        }

        // A sealed entry commits to its ciphertext only: plain data stored beside it would not be covered by its hash.
        if (entry.KeyId is not null && (entry.Before is not null || entry.After is not null || entry.Changes.Count > 0))
        {
            return "sealed entry holds plain data beside its ciphertext (entry edited)";
        }

        string actual;
        try
        {
            actual = AuditHash.Compute(entry, _scratch, out var leaf);
            LastLeafHash = leaf;
        }
        catch (ArgumentException ex)
        {
            return $"entry cannot be encoded ({ex.Message})";
        }

        return string.Equals(actual, entry.Hash, StringComparison.Ordinal)
            ? null
            : "hash mismatch: entry edited";
    }
}
