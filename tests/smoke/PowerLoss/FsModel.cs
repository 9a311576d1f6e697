namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A replay of a recorded run's file-system calls over a copy of its directory taken before the run: from it,
/// images of the directory as a power loss (or a crash) at any point of the run could have left it.</summary>
/// <remarks>
/// The durability rules are the strict POSIX ones (what ALICE and LazyFS assume):
/// a write through an <c>O_SYNC</c>/<c>O_DSYNC</c> descriptor is durable once it returned; any other write, truncation or
/// extension is durable once an fsync/fdatasync of the same file started after it returned and itself returned; a
/// create, mkdir, rename or unlink is durable once an fsync of its directory (both directories for a rename) started
/// after it returned and returned. Everything else is "maybe": an image keeps a chosen subset of those, in their
/// original order per file and per directory, and may tear a kept write at a sector boundary.
/// Files under <c>logs/</c> and SQLite's <c>-shm</c> files are not modelled (SQLite rebuilds the shared-memory index
/// on open): they are left out of every image.
/// </remarks>
internal sealed partial class FsModel
{
    private readonly string _root;
    private readonly FsNode _rootNode;
    private readonly List<FsNode> _nodes = [];
    private readonly List<DirOp> _dirOps = [];
    private readonly List<(int Entry, int Exit)> _globalSyncs = [];
    private readonly List<TraceAck> _acks = [];
    private readonly List<TraceEvent> _events = [];
    private readonly Dictionary<FsNode, Dictionary<string, FsNode>> _initialTree = [];
    private readonly Dictionary<int, OpenFile> _fds = [];
    private readonly HashSet<int> _stdout = [1];
    private readonly Dictionary<int, int> _fdSince = []; // descriptor → trace line where the call that made it finished
    private readonly AckSource _ackSource;
    private string _cwd = "/";

    private FsModel(string root, AckSource ackSource)
    {
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _ackSource = ackSource;
        _rootNode = NewNode(isDirectory: true, initial: null, _root);
    }

    /// <summary>The last trace position (line) of the run.</summary>
    public int End { get; private set; }

    /// <summary>Acknowledgements found in the trace, in order.</summary>
    public IReadOnlyList<TraceAck> Acks => _acks;

    /// <summary>Every modelled file-system change, in the order it finished (for choosing crash points in a window).</summary>
    public IReadOnlyList<TraceEvent> Events => _events;

    /// <summary>Modelled writes (diagnostics).</summary>
    public int DataOpCount => _nodes.Sum(n => n.Ops.Count);

    /// <summary>Builds the model of a run of a process that used <paramref name="liveRoot"/>, whose content before the
    /// run is in <paramref name="snapshot"/>, from its strace log.</summary>
    public static FsModel Build(string snapshot, string liveRoot, string traceFile, AckSource acks)
    {
        var model = new FsModel(liveRoot, acks);
        model.LoadSnapshot(snapshot, model._rootNode);
        foreach (var call in StraceLog.Read(traceFile))
        {
            model.End = Math.Max(model.End, Math.Max(call.Entry, call.Finished ? call.Exit : call.Entry));
            try
            {
                model.Apply(call);
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException
                or ArgumentException)
            {
                throw new InvalidOperationException($"trace line {call.Entry}: cannot model {call.Name}({Shorten(call.Args)}) = {call.Return}: {ex.Message}", ex);
            }
        }

        foreach (var node in model._nodes)
        {
            node.Syncs.Sort((a, b) => a.Entry.CompareTo(b.Entry));
        }

        model._globalSyncs.Sort((a, b) => a.Entry.CompareTo(b.Entry));
        return model;
    }

    private void LoadSnapshot(string directory, FsNode node)
    {
        var entries = new Dictionary<string, FsNode>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            var name = Path.GetFileName(path);
            var live = Path.Combine(node.FirstPath, name);
            if (Excluded(live))
            {
                continue;
            }

            FsNode child;
            if (Directory.Exists(path))
            {
                child = NewNode(true, null, live);
                LoadSnapshot(path, child);
            }
            else
            {
                var bytes = File.ReadAllBytes(path);
                child = NewNode(false, bytes, live);
                child.Size = bytes.Length;
            }

            node.Children[name] = child;
            entries[name] = child;
        }

        _initialTree[node] = entries;
    }

    private FsNode NewNode(bool isDirectory, byte[]? initial, string path)
    {
        var node = new FsNode(_nodes.Count, isDirectory, initial, path);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Logs and SQLite shared-memory files are not modelled.</summary>
    private bool Excluded(string fullPath)
    {
        var relative = Relative(fullPath);
        return relative is not null && (relative == "logs" || relative.StartsWith("logs/", StringComparison.Ordinal)
            || relative.EndsWith("-shm", StringComparison.Ordinal));
    }

    /// <summary>The path relative to the root, "" for the root itself, or null outside it.</summary>
    private string? Relative(string fullPath)
    {
        if (fullPath == _root)
        {
            return "";
        }

        return fullPath.StartsWith(_root + "/", StringComparison.Ordinal) ? fullPath[(_root.Length + 1)..] : null;
    }

    private static string Shorten(string text) => text.Length > 160 ? text[..160] + "…" : text;

    /// <summary>An open file descriptor of the traced process.</summary>
    private sealed class OpenFile(FsNode? node, string path, bool sync, bool append)
    {
        public FsNode? Node { get; } = node;

        public string Path { get; } = path;

        public bool Sync { get; } = sync;

        public bool Append { get; } = append;

        public long Position { get; set; }
    }
}
