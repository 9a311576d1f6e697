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
        var uncertain = _dirOps.Where(o => !o.Finished).SelectMany(o => new[] { o.Name, o.FromName }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        Compare(_rootNode, actual, "", uncertain, problems);
        return problems;
    }

    private void Compare(FsNode dir, string actualDir, string relative, HashSet<string> uncertain, List<string> problems)
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
            if (Excluded(Path.Combine(_root, path)) || uncertain.Contains(name))
            {
                continue; // not modelled, or named by a call that was still running when the process died
            }

            if (!dir.Children.TryGetValue(name, out var node))
            {
                if (!uncertain.Contains(name))
                {
                    problems.Add($"{path}: on disk but not in the model");
                }

                continue;
            }

            if (!names.Contains(name))
            {
                if (!uncertain.Contains(name))
                {
                    problems.Add($"{path}: in the model but not on disk");
                }

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
        var dontCare = new List<(long From, long To)>();
        long maxEnd = 0;
        foreach (var op in node.Ops)
        {
            if (!op.Finished)
            {
                dontCare.Add(op.Data is null ? (Math.Min(op.Size, long.MaxValue), long.MaxValue) : (op.Offset, op.End));
                maxEnd = Math.Max(maxEnd, op.End);
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
        if (have.Length != want.Length && !(dontCare.Count > 0 && have.Length >= Math.Min(want.Length, dontCare.Min(d => d.From))
                                             && have.Length <= Math.Max(want.Length, maxEnd)))
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

        var length = Math.Min(have.Length, want.Length);
        for (var i = 0; i < length; i++)
        {
            if (have[i] == want[i] || dontCare.Exists(d => i >= d.From && i < d.To))
            {
                continue;
            }

            var last = written.FindLast(w => i >= w.From && i < w.To);
            if (want[i] == 0 && last.Op is not null && last.Op.Data![i - last.From] == 0)
            {
                continue;
            }

            problems.Add($"{path}: first differing byte at offset {i} (disk 0x{have[i]:x2}, model 0x{want[i]:x2})");
            return;
        }
    }
}
