using System.Globalization;
using Microsoft.Data.Sqlite;
using Nv.Audit.Archive;
using Nv.Audit.Chain;
using Nv.Audit.Merkle;

namespace Nv.Audit.Sqlite;

/// <summary>Archives: each chain's next range of entries older than a time, written to a self-contained file with the
/// frontier of the tree before it and a checkpoint signed at its last entry, verified from disk, then recorded.</summary>
/// <remarks>The writer lock is held only to plan a range (its end, the frontier, the signed checkpoint: a durable point
/// first, so the checkpoint never covers an entry a power loss could take back) and to record it; the entries are streamed
/// to the file from a read connection, so appends go on meanwhile (the range is immutable). Steps and what a crash after
/// each leaves: the temp file written and synced (a <c>.tmp</c> the next run overwrites); renamed onto its name (an
/// unrecorded file the next run of the same range replaces, or removes when the range came out different); recorded with
/// its checkpoint and an <c>audit-archived</c> entry in one synced transaction (done). That entry commits to every archive
/// row of the chain (<see cref="ArchiveLedger"/>), and is covered by a checkpoint signed in the same transaction.</remarks>
internal sealed partial class SqliteAuditSink : IAuditRetention
{
    public Task<IReadOnlyList<AuditArchiveInfo>> ArchiveAsync(DateTimeOffset before, string directory, CancellationToken cancellationToken = default) =>
        ArchiveAsync(before, directory, null, cancellationToken);

    public async Task<IReadOnlyList<AuditArchiveInfo>> ArchiveAsync(DateTimeOffset before, string directory, IProgress<AuditProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        directory = Path.GetFullPath(directory);
        List<string> chains;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            chains = ChainNames();
        }
        finally
        {
            _gate.Release();
        }

        var written = new List<AuditArchiveInfo>();
        var reporter = new AuditProgressReporter(progress, ProgressInterval);
        foreach (var chain in chains)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (await PlanArchiveAsync(chain, before, cancellationToken) is { } plan)
            {
                written.Add(await WriteArchiveAsync(plan, directory, reporter, cancellationToken));
            }
        }

        return written;
    }

    public async Task<IReadOnlyList<AuditArchiveInfo>> GetArchivesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT a.chain, a.first_sequence, a.last_sequence, a.last_hash, a.last_timestamp, a.file_name, a.file_sha256, a.checkpoint, a.created, " +
            "coalesce(p.through, 0) FROM audit_archives a LEFT JOIN audit_pruned p ON p.chain = a.chain ORDER BY a.chain, a.first_sequence";
        var archives = new List<AuditArchiveInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var first = reader.GetInt64(1);
            var last = reader.GetInt64(2);
            var pruned = reader.GetInt64(9);
            archives.Add(new AuditArchiveInfo
            {
                Chain = reader.GetString(0),
                FirstSequence = first,
                LastSequence = last,
                LastHash = reader.GetString(3),
                LastTimestamp = AuditCanonicalEncoding.ParseTimestamp(reader.GetString(4)),
                FilePath = reader.GetString(5),
                FileSha256 = reader.GetString(6),
                Checkpoint = SignedCheckpoint.Parse(reader.GetString(7)),
                Created = DateTimeOffset.Parse(reader.GetString(8), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                PrunedThrough = pruned >= first ? Math.Min(pruned, last) : 0,
            });
        }

        return archives;
    }

    /// <summary>What one archive will hold, fixed under the writer lock.</summary>
    private sealed record ArchivePlan(
        string Chain, long First, long Last, string PrevHash, string LastHash, IReadOnlyList<MerkleHash> Frontier, SignedCheckpoint Checkpoint,
        string PublicKeyPem);

    private async Task<ArchivePlan?> PlanArchiveAsync(string chain, DateTimeOffset before, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            ForgetChainsIfChangedElsewhere();
            var state = Chain(chain);
            var (archivedThrough, archivedHash) = LastArchive(chain);
            var first = archivedThrough + 1;
            if (first > state.Sequence)
            {
                return null;
            }

            var (last, lastHash) = LastEntryBefore(chain, first, before);
            if (last < first)
            {
                return null;
            }

            RequireVouchedArchiveRows(chain);

            if (_dirty)
            {
                // The checkpoint the archive carries must never cover an entry a power loss could take back.
                var durable = _sql!.SetDurableThrough;
                durable.Bind(1, _auditedThrough ?? 0);
                ExecuteSynced(() => durable.Execute());
            }

            var signed = Signer.Sign(chain, last, state.Tree.RootAt(last), _time.GetUtcNow());
            return new ArchivePlan(chain, first, last, first == 1 ? AuditHash.Genesis : archivedHash!, lastHash, state.Tree.GetFrontier(first - 1),
                signed, Signer.PublicKeyPem);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<AuditArchiveInfo> WriteArchiveAsync(ArchivePlan plan, string directory, AuditProgressReporter progress,
        CancellationToken cancellationToken)
    {
        var count = plan.Last - plan.First + 1;
        RemoveUnrecordedArchives(directory, plan.Chain, plan.First);
        var path = Path.Combine(directory, AuditArchiveFormat.FileName(plan.Chain, plan.First, plan.Last));
        string sha256;
        DateTimeOffset lastTimestamp;
        using (var writer = new AuditArchiveWriter(path, plan.Chain, plan.First, plan.PrevHash, plan.Frontier, _time.GetUtcNow()))
        {
            var verifier = new AuditChainVerifier(new Dictionary<string, (long, string)> { [plan.Chain] = (plan.First - 1, plan.PrevHash) });
            var tree = new ArchiveTree(plan.First - 1, plan.Frontier);
            await using (var connection = await OpenReaderAsync(cancellationToken))
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT " + SqliteAuditSchema.Columns +
                    " FROM audit_entries WHERE service = $chain AND sequence BETWEEN $first AND $last ORDER BY sequence";
                command.Parameters.AddWithValue("$chain", plan.Chain);
                command.Parameters.AddWithValue("$first", plan.First);
                command.Parameters.AddWithValue("$last", plan.Last);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                progress.Begin(AuditProgressPhase.ArchiveWrite, count, plan.Chain);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var entry = SqliteAuditRow.Read(reader);
                    if (!verifier.Add(entry))
                    {
                        throw new AuditChainBrokenException(plan.Chain, verifier.BrokenSequence ?? entry.Sequence, verifier.Reason + "; nothing was archived");
                    }

                    tree.Append(verifier.LastLeafHash);
                    writer.Add(entry);
                    progress.Advance(writer.Entries);
                }

                progress.End(writer.Entries);
            }

            if (writer.Entries != count || tree.Root != plan.Checkpoint.Checkpoint.RootHash)
            {
                throw new AuditChainBrokenException(plan.Chain, plan.First,
                    $"entries {plan.First}..{plan.Last} read back as {writer.Entries} entries whose Merkle root is not the tree's; run nv audit verify");
            }

            lastTimestamp = writer.LastTimestamp;
            sha256 = writer.Complete(plan.Last, plan.LastHash, plan.Checkpoint, plan.PublicKeyPem);
            Step(AuditCrashPoints.ArchiveAfterWrite);
            writer.Publish();
            Step(AuditCrashPoints.ArchiveAfterRename);
        }

        // What is on disk now is what gets recorded: read it back and verify it as an auditor would.
        // Cancelling the read-back leaves the file unrecorded: the next run of the range replaces it.
        var check = AuditArchiveReader.Read(path, plan.PublicKeyPem, null, progress, count, cancellationToken).Result;
        if (!check.IsValid || check.LastSequence != plan.Last || check.LastHash != plan.LastHash)
        {
            throw new InvalidDataException($"The archive {path} does not verify after it was written: {check.Reason ?? "it holds another range"}");
        }

        var info = new AuditArchiveInfo
        {
            Chain = plan.Chain,
            FirstSequence = plan.First,
            LastSequence = plan.Last,
            LastHash = plan.LastHash,
            LastTimestamp = lastTimestamp,
            FilePath = path,
            FileSha256 = sha256,
            Checkpoint = plan.Checkpoint,
            Created = _time.GetUtcNow(),
        };
        await RecordArchiveAsync(info, cancellationToken);
        Log.Archived(_logger, plan.Chain, plan.First, plan.Last, path);
        return info;
    }

    // The newest archive of the chain: its last sequence and hash (0 and null when none).
    private (long Through, string? Hash) LastArchive(string chain)
    {
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT last_sequence, last_hash FROM audit_archives WHERE chain = $chain ORDER BY last_sequence DESC LIMIT 1";
        command.Parameters.AddWithValue("$chain", chain);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetString(1)) : (0, null);
    }

    // The end of the longest run of entries from `first` on whose timestamps are all before `before`, and its hash.
    private (long Last, string Hash) LastEntryBefore(string chain, long first, DateTimeOffset before)
    {
        var bound = AuditCanonicalEncoding.FormatTimestamp(before);
        using var command = _writer!.CreateCommand();
        command.CommandText = "SELECT sequence, timestamp, hash FROM audit_entries WHERE service = $chain AND sequence >= $first ORDER BY sequence";
        command.Parameters.AddWithValue("$chain", chain);
        command.Parameters.AddWithValue("$first", first);
        using var reader = command.ExecuteReader();
        long last = first - 1;
        var hash = string.Empty;
        while (reader.Read())
        {
            var sequence = reader.GetInt64(0);
            if (sequence != last + 1)
            {
                throw new AuditChainBrokenException(chain, last + 1, $"entry {last + 1} is missing; run nv audit verify");
            }

            if (string.CompareOrdinal(reader.GetString(1), bound) >= 0)
            {
                break;
            }

            last = sequence;
            hash = reader.GetString(2);
        }

        return (last, hash);
    }

    // A crashed run of the same range start left a file (maybe of another length) that nothing records: it goes.
    private void RemoveUnrecordedArchives(string directory, string chain, long first)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(directory, AuditArchiveFormat.Pattern(chain, first)))
        {
            if (AuditArchiveFormat.IsRange(Path.GetFileName(file), chain, first))
            {
                File.Delete(file);
                Log.OrphanArchiveRemoved(_logger, file);
            }
        }
    }

    private void Step(string point)
    {
        StepHook?.Invoke(point);
        AuditCrashPoints.Hit(point);
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
