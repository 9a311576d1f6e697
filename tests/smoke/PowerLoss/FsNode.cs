namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>A file or directory (an inode) of the modelled tree: what it held before the recorded run and every change made
/// to it during the run, with the syncs that make those changes durable.</summary>
internal sealed class FsNode(int id, bool isDirectory, byte[]? initial, string firstPath)
{
    public int Id { get; } = id;

    public bool IsDirectory { get; } = isDirectory;

    /// <summary>Content before the run (null: created during the run, empty at first).</summary>
    public byte[]? Initial { get; } = initial;

    /// <summary>The path it had when first seen (diagnostics).</summary>
    public string FirstPath { get; } = firstPath;

    /// <summary>Directory entries as the running process saw them (volatile view, updated as calls finish).</summary>
    public Dictionary<string, FsNode> Children { get; } = new(StringComparer.Ordinal);

    /// <summary>Writes, truncations and size extensions, in the order they finished.</summary>
    public List<DataOp> Ops { get; } = [];

    /// <summary>fsync/fdatasync calls on this node, in the order they started.</summary>
    public List<(int Entry, int Exit)> Syncs { get; } = [];

    /// <summary>Size of the file as the running process sees it (volatile view).</summary>
    public long Size { get; set; }

    private int[]? _suffixMinExit;

    /// <summary>Whether a sync of this node started after <paramref name="after"/> and returned by <paramref name="cut"/>.</summary>
    public bool SyncedBetween(int after, int cut)
    {
        if (_suffixMinExit is null || _suffixMinExit.Length != Syncs.Count + 1)
        {
            var min = new int[Syncs.Count + 1];
            min[^1] = int.MaxValue;
            for (var i = Syncs.Count - 1; i >= 0; i--)
            {
                min[i] = Math.Min(min[i + 1], Syncs[i].Exit);
            }

            _suffixMinExit = min;
        }

        // Syncs are kept in start order: the first one that started after `after`.
        int lo = 0, hi = Syncs.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (Syncs[mid].Entry > after)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return _suffixMinExit[lo] <= cut;
    }
}
