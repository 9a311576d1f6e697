using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Nv.Audit;
using Nv.Audit.Sqlite;

namespace Nv.Integration.Tests.Audit;

/// <summary>Large JSON columns are stored LZ4-compressed (storage only: the hashes cover the canonical text), read back
/// unchanged, verify in .NET and in the independent Python verifier, and a damaged compressed value is reported, never
/// returned as data.</summary>
public sealed class SqliteAuditCompressionTests : AuditStoreFixture
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string Large = "{\"items\":[" + string.Join(',', Enumerable.Range(0, 60).Select(i => $"{{\"sku\":\"item-{i % 7}\",\"qty\":{i % 5},\"note\":\"standard shipping\"}}")) + "]}";

    [Fact]
    public async Task A_large_entry_is_stored_compressed_and_reads_back_byte_for_byte()
    {
        var entry = Entry() with { Before = Json(Large), After = Json(Large.Replace("standard", "express", StringComparison.Ordinal)) };
        await Sink.AppendAsync([entry], Ct);

        using (var raw = Raw())
        {
            foreach (var column in new[] { "before_json", "after_json" })
            {
                Assert.Equal("blob", Scalar(raw, $"SELECT typeof({column}) FROM audit_entries WHERE id = '{entry.Id}'"));
            }

            Assert.True((long)Scalar(raw, $"SELECT length(after_json) FROM audit_entries WHERE id = '{entry.Id}'")! < Large.Length / 3);
            Assert.Equal("text", Scalar(raw, $"SELECT typeof(metadata_json) FROM audit_entries WHERE id = '{entry.Id}'")); // small: text
            Assert.Equal("text", Scalar(raw, $"SELECT typeof(changes_json) FROM audit_entries WHERE id = '{entry.Id}'"));
        }

        var stored = (await Sink.GetAsync(entry.Id, Ct))!;
        Assert.Equal(Nv.Audit.Chain.CanonicalJson.ToText(entry.Before!.Value), Nv.Audit.Chain.CanonicalJson.ToText(stored.Before!.Value));
        Assert.Equal(Nv.Audit.Chain.CanonicalJson.ToText(entry.After!.Value), Nv.Audit.Chain.CanonicalJson.ToText(stored.After!.Value));
        Assert.Equal(entry.Changes.Count, stored.Changes.Count);
        var verification = await ((IAuditProofs)Sink).VerifyAsync(null, Ct);
        Assert.True(verification.IsValid, verification.Reason);
        await ((IAuditProofs)Sink).CheckpointAllAsync(Ct);
        await Sink.DisposeAsync();
        AssertPythonVerifierSays(FilePath, "OK 1 entries");
    }

    [Fact]
    public async Task A_damaged_compressed_value_is_reported_by_verification_and_never_read_as_data()
    {
        var entry = Entry() with { After = Json(Large) };
        await Sink.AppendAsync([entry, Entry()], Ct);
        using (var raw = Raw())
        {
            Execute(raw, "DROP TRIGGER audit_entries_no_update;");
            // Keep the marker and length, damage the LZ4 data.
            Execute(raw, $"UPDATE audit_entries SET after_json = substr(after_json, 1, 5) || zeroblob(length(after_json) - 5) WHERE id = '{entry.Id}'");
        }

        var verification = await ((IAuditProofs)Sink).VerifyAsync(null, Ct);

        Assert.False(verification.IsValid);
        Assert.Equal(1, verification.BrokenSequence);
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    public void Short_or_incompressible_values_stay_text_and_bad_blobs_are_refused(string small)
    {
        Assert.True(small.Length < AuditColumnCodec.MinimumLength);
        Assert.Throws<FormatException>(() => AuditColumnCodec.Decompress([0x4C, 1, 0, 0]));
        Assert.Throws<FormatException>(() => AuditColumnCodec.Decompress([0x00, 1, 0, 0, 0, 0x10, (byte)'a']));
        Assert.Throws<FormatException>(() => AuditColumnCodec.Decompress([0x4C, 9, 0, 0, 0, 0x10, (byte)'a'])); // says 9 bytes, holds 1
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    internal static void AssertPythonVerifierSays(string auditDb, string expectedStart) => AssertPythonVerifierSays(null, auditDb, expectedStart);

    internal static void AssertPythonVerifierSays(string? option, string file, string expectedStart)
    {
        var script = Path.Combine(Support.RepoRoot.Path, "docs", "audit_verify_reference.py");
        ProcessStartInfo info = new("python3", option is null ? [script, file] : [script, option, file]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Skip("python3 cannot be started: " + ex.Message);
            return;
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.StartsWith(expectedStart, output.Trim(), StringComparison.Ordinal);
        }
    }
}
