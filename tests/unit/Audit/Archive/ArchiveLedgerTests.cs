using Nv.Audit.Archive;

namespace Nv.Unit.Tests.Audit.Archive;

/// <summary>The archive ledger format (docs/audit-archive.md §5): a known-answer vector shared with the independent Python
/// verifier, every column and the row order bound by the digest, the commitment's metadata round-tripping, and damaged
/// commitments refused; and the rules <see cref="ArchiveLedgerCheck"/> applies to a chain's rows.</summary>
public sealed class ArchiveLedgerTests
{
    /// <summary>The golden rows; docs/audit_verify_reference.py (fixed_archive_rows) holds the same ones.</summary>
    private static List<ArchiveRow> Golden()
    {
        var row = new ArchiveRow
        {
            Chain = "orders",
            FirstSequence = 1,
            LastSequence = 30,
            LastHash = new string('b', 64),
            LastTimestamp = "2025-06-01T00:29:00.0000000Z",
            FileName = "/var/nv/archives/orders-1-30.nvarchive",
            FileSha256 = new string('c', 64),
            Checkpoint = "nv-audit-checkpoint/v1\nchain: orders\nsize: 30\n",
            Created = "2025-06-02T10:00:00.0000000Z",
        };
        return [row, row with { FirstSequence = 31, LastSequence = 45, FileName = "/var/nv/archives/café-31-45.nvarchive" }];
    }

    [Fact]
    public void Known_answer_vector_matches_the_independent_python_reference()
    {
        // `python3 docs/audit_verify_reference.py --golden`, line "archive-ledger". If this changes, every stored
        // commitment stops matching its rows.
        Assert.Equal("03c61aafc5013616370d140135cea845fd31d2688af7a1f0aeab5f42d277a2fb", ArchiveLedger.Digest(Golden()));
        Assert.Equal(new string('0', 64), ArchiveLedger.Digest([]));
    }

    public static TheoryData<string> Columns() =>
        ["chain", "first", "last", "lastHash", "lastTimestamp", "fileName", "fileSha256", "checkpoint", "created"];

    [Theory]
    [MemberData(nameof(Columns))]
    public void Every_column_of_every_row_is_bound(string column)
    {
        var rows = Golden();
        var first = rows[0];
        rows[0] = column switch
        {
            "chain" => first with { Chain = "orderz" },
            "first" => first with { FirstSequence = 2 },
            "last" => first with { LastSequence = 31 },
            "lastHash" => first with { LastHash = new string('d', 64) },
            "lastTimestamp" => first with { LastTimestamp = "2025-06-01T00:29:00.0000001Z" },
            "fileName" => first with { FileName = first.FileName + " " },
            "fileSha256" => first with { FileSha256 = new string('e', 64) },
            "checkpoint" => first with { Checkpoint = first.Checkpoint.TrimEnd('\n') },
            _ => first with { Created = "2025-06-02T10:00:00.0000001Z" },
        };

        Assert.NotEqual(ArchiveLedger.Digest(Golden()), ArchiveLedger.Digest(rows));
    }

    [Fact]
    public void Row_order_and_a_missing_row_change_the_digest()
    {
        var rows = Golden();
        Assert.NotEqual(ArchiveLedger.Digest(rows), ArchiveLedger.Digest([rows[1], rows[0]]));
        Assert.NotEqual(ArchiveLedger.Digest(rows), ArchiveLedger.Digest([rows[0]]));
        // Field boundaries are length-prefixed: moving text from one column to the next changes the digest.
        Assert.NotEqual(ArchiveLedger.Digest([rows[0]]),
            ArchiveLedger.Digest([rows[0] with { FileName = rows[0].FileName + "c", FileSha256 = rows[0].FileSha256[1..] }]));
    }

    [Fact]
    public void The_commitment_round_trips_through_entry_metadata()
    {
        var metadata = ArchiveLedger.Metadata(Golden());

        Assert.Equal(new ArchiveLedgerCommitment(2, ArchiveLedger.Digest(Golden())), ArchiveLedger.Read(metadata));
        Assert.Equal("1", metadata[ArchiveLedger.VersionKey]);
        Assert.Null(ArchiveLedger.Read(new Dictionary<string, string> { ["firstSequence"] = "1" })); // an entry from before the ledger
    }

    [Theory]
    [InlineData("version", "3", "is not one this build knows")]
    [InlineData("version", null, "only part of")]
    [InlineData("rows", null, "only part of")]
    [InlineData("digest", null, "only part of")]
    [InlineData("rows", "0", "positive decimal")]
    [InlineData("rows", "-2", "positive decimal")]
    [InlineData("rows", "02", "positive decimal")]
    [InlineData("rows", " 2", "positive decimal")]
    [InlineData("digest", "ABCDEF", "SHA-256 hex")]
    [InlineData("digest", "03C61AAFC5013616370D140135CEA845FD31D2688AF7A1F0AEAB5F42D277A2FB", "SHA-256 hex")]
    public void A_damaged_commitment_is_refused(string key, string? value, string reason)
    {
        var metadata = ArchiveLedger.Metadata(Golden());
        var name = key switch { "version" => ArchiveLedger.VersionKey, "rows" => ArchiveLedger.RowsKey, _ => ArchiveLedger.DigestKey };
        if (value is null)
        {
            metadata.Remove(name);
        }
        else
        {
            metadata[name] = value;
        }

        var refused = Assert.Throws<FormatException>(() => ArchiveLedger.Read(metadata));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    private static ArchiveLedgerCheck.ArchivedEntry Recording(ArchiveRow row, IReadOnlyList<ArchiveRow>? committedRows, long sequence = 50)
    {
        var metadata = new Dictionary<string, string>
        {
            ["firstSequence"] = row.FirstSequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["lastSequence"] = row.LastSequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["sha256"] = row.FileSha256,
        };
        if (committedRows is not null)
        {
            foreach (var (k, v) in ArchiveLedger.Metadata(committedRows))
            {
                metadata[k] = v;
            }
        }

        return new ArchiveLedgerCheck.ArchivedEntry(sequence, metadata);
    }

    [Fact]
    public void Rows_the_newest_entry_commits_to_pass_and_anything_else_is_a_problem()
    {
        var rows = Golden();
        var entry = Recording(rows[1], rows);

        Assert.Equal(ArchiveLedgerCheck.Finding.Ok(), ArchiveLedgerCheck.Check(rows, entry, checkpointedSize: 50));
        Assert.Equal(ArchiveLedgerCheck.Finding.Ok(), ArchiveLedgerCheck.Check([], null, 0));
        Assert.Contains("not covered by a signed checkpoint", ArchiveLedgerCheck.Check(rows, entry, checkpointedSize: 49).Reason,
            StringComparison.Ordinal);
        Assert.Contains("no audit-archived entry", ArchiveLedgerCheck.Check(rows, null, 50).Reason, StringComparison.Ordinal);
        Assert.Contains("holds no archive row", ArchiveLedgerCheck.Check([], entry, 50).Reason, StringComparison.Ordinal);
        Assert.Contains("not consecutive", ArchiveLedgerCheck.Check([rows[1]], entry, 50).Reason, StringComparison.Ordinal);
        var forged = rows[1] with { FirstSequence = 46, LastSequence = 60 };
        Assert.Contains("is not the archive", ArchiveLedgerCheck.Check([.. rows, forged], entry, 50).Reason, StringComparison.Ordinal);
        var edited = rows[0] with { LastHash = new string('f', 64) };
        Assert.Contains("are not the 2", ArchiveLedgerCheck.Check([edited, rows[1]], entry, 50).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rows_recorded_before_the_ledger_pass_as_unverified()
    {
        var rows = Golden();

        var finding = ArchiveLedgerCheck.Check(rows, Recording(rows[1], committedRows: null), checkpointedSize: 0);

        Assert.Null(finding.Reason);
        Assert.Equal(2, finding.UnverifiedRows);
        // Still checked: the ranges and the newest row against the entry.
        var forged = rows[1] with { FirstSequence = 46, LastSequence = 60 };
        Assert.NotNull(ArchiveLedgerCheck.Check([.. rows, forged], Recording(rows[1], null), 0).Reason);
    }
}
