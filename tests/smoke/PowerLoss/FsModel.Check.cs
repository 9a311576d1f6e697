namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>The model's self-check: replaying every finished call over the snapshot must give the directory exactly as
/// the killed process left it (the page cache survives a SIGKILL), so a missed or misread call cannot go unnoticed.</summary>
internal sealed partial class FsModel
{
    /// <summary>Differences between the model's end state and <paramref name="actual"/> (the live directory after the
    /// run); bytes and names touched only by calls still running at the end are not compared.</summary>
    public List<string> CompareWith(string actual)
    {
        var problems = new List<string>();
        var uncertain = new HashSet<(FsNode Dir, string Name)>();
        foreach (var op in _dirOps.Where(o => !o.Finished))
        {
            uncertain.Add((op.Dir, op.Name));
            if (op.FromDir is not null && op.FromName is not null)
            {
                uncertain.Add((op.FromDir, op.FromName));
            }
        }

        Compare(_rootNode, actual, "", uncertain, problems);
        return problems;
    }

    private void Compare(FsNode dir, string actualDir, string relative, HashSet<(FsNode Dir, string Name)> uncertain, List<string> problems)
    {
        var names = Directory.Exists(actualDir)
            ? Directory.EnumerateFileSystemEntries(actualDir).Select(Path.GetFileName).OfType<string>()
                .Where(n => !Excluded(Path.Combine(dir.FirstPath, n)) && !Excluded(Path.Combine(_root, relative, n)))
                .ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var name in names.Union(dir.Children.Keys).Order(StringComparer.Ordinal))
        {
            var path = relative.Length == 0 ? name : relative + "/" + name;
            var actualPath = Path.Combine(actualDir, name);
            if (Excluded(Path.Combine(_root, path)) || uncertain.Contains((dir, name)))
            {
                continue; // not modelled, or named by a call that was still running when the process died
            }

            if (!dir.Children.TryGetValue(name, out var node))
            {
                problems.Add($"{path}: on disk but not in the model");

                continue;
            }

            if (!names.Contains(name))
            {
                problems.Add($"{path}: in the model but not on disk");

                continue;
            }

            if (node.IsDirectory)
            {
                Compare(node, actualPath, path, uncertain, problems);
                continue;
            }

            CompareFile(node, actualPath, path, problems);
        }
    }

    private static void CompareFile(FsNode node, string actualPath, string path, List<string> problems)
    {
        var expected = new GrowableBuffer(node.Initial ?? []);
        var unknown = new List<DataOp>();
        foreach (var op in node.Ops)
        {
            if (!op.Finished)
            {
                unknown.Add(op); // the process died inside it: it may or may not have happened
                continue;
            }

            if (op.Data is null)
            {
                expected.Resize(op.ExtendOnly ? Math.Max(expected.Length, op.Size) : op.Size);
            }
            else
            {
                expected.Write(op.Offset, op.Data);
            }
        }

        var want = expected.ToArray();
        var have = File.ReadAllBytes(actualPath);

        // A write never makes a file shorter: only an unknown truncation may leave it below the model's size, and only unknown
        // writes or extensions may take it past.
        var shortest = unknown.Where(o => o.Data is null && !o.ExtendOnly).Select(o => o.Size).Append(want.Length).Min();
        var longest = unknown.Select(o => o.End).Append(want.Length).Max();
        if (have.Length < shortest || have.Length > longest)
        {
            problems.Add($"{path}: {have.Length} bytes on disk, the model says {want.Length}");
            return;
        }

        // strace copies a write's buffer when the call starts and the kernel when it runs: a program that fills the rest of
        // the buffer meanwhile (FasterLog appends into the page it is flushing, past the tail it flushes) leaves newer bytes
        // on disk than the trace shows. Only bytes the trace saw as zeros inside a traced write may differ that way.
        var written = new List<(long From, long To, DataOp Op)>();
        foreach (var op in node.Ops.Where(o => o.Finished && o.Data is not null))
        {
            written.Add((op.Offset, op.End, op));
        }

        for (var i = 0; i < have.Length; i++)
        {
            var modelled = i < want.Length;
            if ((modelled && have[i] == want[i]) || (!modelled && have[i] == 0)) // past the model's end: a hole or an extension
            {
                continue;
            }

            if (unknown.Exists(o => o.Data is { } data && i >= o.Offset && i < o.End && (data[i - o.Offset] == have[i] || data[i - o.Offset] == 0)))
            {
                continue; // an unknown write's own byte (or one it was traced with as zero: see above)
            }

            var last = written.FindLast(w => i >= w.From && i < w.To);
            if (modelled && want[i] == 0 && last.Op is not null && last.Op.Data![i - last.From] == 0)
            {
                continue;
            }

            problems.Add(modelled
                ? $"{path}: first differing byte at offset {i} (disk 0x{have[i]:x2}, model 0x{want[i]:x2})"
                : $"{path}: byte 0x{have[i]:x2} at offset {i}, past the model's {want.Length} bytes, that no call wrote");
            return;
        }
    }
}
