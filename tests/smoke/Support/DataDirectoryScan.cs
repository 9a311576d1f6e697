using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Nv.Smoke.Tests.Support;

/// <summary>What the erasure and CLI tests look for in a data directory: the files that still hold a text (read beside a
/// running host, which keeps its files open), a hash of every file, and single values from its SQLite files.</summary>
internal static class DataDirectoryScan
{
    /// <summary>Every (file relative to <paramref name="dataDir"/>, text) where a file under it holds one of
    /// <paramref name="texts"/> as UTF-8; the WAL's lock file (held exclusively, empty) is skipped.</summary>
    public static List<string> Holding(string dataDir, params string[] texts)
    {
        var found = new List<string>();
        foreach (var file in Directory.GetFiles(dataDir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            found.AddRange(texts.Where(text => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0)
                .Select(text => $"{Path.GetRelativePath(dataDir, file)} holds {text}"));
        }

        return found;
    }

    /// <summary>Every file under <paramref name="dataDir"/> (relative path) with the SHA-256 of its bytes, except those under
    /// <paramref name="except"/> (a folder relative to it).</summary>
    public static SortedDictionary<string, string> Hashes(string dataDir, string? except = null) => new(
        Directory.GetFiles(dataDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dataDir, f))
            .Where(f => except is null || !f.StartsWith(except + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(dataDir, f))))),
        StringComparer.Ordinal);

    /// <summary>The first column of the first row of <paramref name="sql"/> on <paramref name="file"/>, opened read-only.</summary>
    public static object? Scalar(string file, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
