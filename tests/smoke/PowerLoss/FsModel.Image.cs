using System.Buffers.Binary;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Building an image: the directory as it may look after a power loss (or crash) at a trace position.</summary>
internal sealed partial class FsModel
{
    private const int Sector = 512;
    private const int FasterEntryHeader = 12; // FasterLog's per-entry header: an 8-byte checksum, then the 4-byte length

    /// <summary>The page size of the files (by name) FasterLog writes its log to, null for any other file: where a write of
    /// such a file traced zeros past its last entry, images may hold the entries FasterLog was still copying (FillTail).</summary>
    public Func<string, int?>? FasterLogPageSize { get; set; }

    /// <summary><see cref="FasterLogPageSize"/> for Nv's WAL segments written with pages of <paramref name="pageSize"/> bytes.</summary>
    public static Func<string, int?> WalSegments(int pageSize) => name => IsWalSegment(name) ? pageSize : null;

    /// <summary>A FasterLog segment file's name (<c>nv.log.N</c>): FasterLog flushes pages it is still appending to.</summary>
    public static bool IsWalSegment(string name) =>
        name.StartsWith("nv.log.", StringComparison.Ordinal) && name.Length > 7 && name.AsSpan(7).IndexOfAnyExceptInRange('0', '9') < 0;

    /// <summary>Writes into <paramref name="target"/> (created, must not exist) the directory as a cut at trace line
    /// <paramref name="cut"/> may leave it under <paramref name="policy"/>.</summary>
    public ImageInfo Materialize(int cut, ImagePolicy policy, int seed, string target)
    {
        var random = new Random(seed);
        var counts = new Counts();

        // Directory entries: the snapshot's, then every kept change, in the order they finished (running ones last).
        // Chosen per directory, applied in one global order (a rename may depend on a create in another directory).
        // Directory changes are kept as a prefix even under RandomSubset: journaling file systems commit them in order.
        var tree = _initialTree.ToDictionary(p => p.Key, p => new Dictionary<string, FsNode>(p.Value, StringComparer.Ordinal));
        var keptDirOps = _dirOps.Where(o => o.Entry <= cut)
            .GroupBy(o => o.Dir)
            .OrderBy(g => g.Key.Id)
            .SelectMany(g => Choose(g.ToList(), o => DirOpDurable(o, cut), o => o.Exit <= cut,
                policy == ImagePolicy.RandomSubset ? ImagePolicy.RandomPrefix : policy, random, counts))
            .OrderBy(o => o.Exit)
            .ThenBy(o => o.Entry);
        foreach (var op in keptDirOps)
        {
            ApplyDirOp(tree, op);
        }

        Directory.CreateDirectory(target);
        WriteTree(tree, _rootNode, target, cut, policy, random, counts);
        return new ImageInfo(cut, policy, seed, counts.Durable, counts.Kept, counts.Dropped, counts.Torn, counts.Filled);
    }

    private bool DirOpDurable(DirOp op, int cut) =>
        op.Exit <= cut && (op.Dir.SyncedBetween(op.Exit, cut) || GlobalSynced(op.Exit, cut))
        && (op.FromDir is null || op.FromDir == op.Dir || op.FromDir.SyncedBetween(op.Exit, cut) || GlobalSynced(op.Exit, cut));

    private bool DataOpDurable(FsNode node, DataOp op, int cut) =>
        op.Exit <= cut && ((op.SyncFd && op.Data is not null) || node.SyncedBetween(op.Exit, cut) || GlobalSynced(op.Exit, cut));

    private bool GlobalSynced(int after, int cut) => _globalSyncs.Any(s => s.Entry > after && s.Exit <= cut);

    // The changes an image keeps, in their original order: durable ones always; of the rest (finished or still running at
    // the cut) what the policy chooses.
    private static List<T> Choose<T>(List<T> ops, Func<T, bool> durable, Func<T, bool> finished, ImagePolicy policy, Random random, Counts counts)
    {
        var kept = new List<T>(ops.Count);
        var maybe = ops.Count(o => !durable(o));
        var prefix = policy == ImagePolicy.RandomPrefix ? random.Next(maybe + 1) : 0;
        var seen = 0;
        foreach (var op in ops)
        {
            if (durable(op))
            {
                counts.Durable++;
                kept.Add(op);
                continue;
            }

            var keep = policy switch
            {
                ImagePolicy.DurableOnly => false,
                ImagePolicy.ProcessCrash => finished(op) || random.Next(2) == 0,
                ImagePolicy.RandomPrefix => seen < prefix,
                _ => random.Next(2) == 0,
            };
            seen++;
            if (keep)
            {
                counts.Kept++;
                kept.Add(op);
            }
            else
            {
                counts.Dropped++;
            }
        }

        return kept;
    }

    private static void ApplyDirOp(Dictionary<FsNode, Dictionary<string, FsNode>> tree, DirOp op)
    {
        var entries = Entries(tree, op.Dir);
        if (op.Target is null)
        {
            if (entries.TryGetValue(op.Name, out var present) && present == op.Removed)
            {
                entries.Remove(op.Name);
            }

            return;
        }

        if (op.FromDir is not null)
        {
            // A rename moves the name only if the source name still names that node in this image.
            var from = Entries(tree, op.FromDir);
            if (!from.TryGetValue(op.FromName!, out var moved) || moved != op.Target)
            {
                return;
            }

            from.Remove(op.FromName!);
        }

        entries[op.Name] = op.Target;
        if (op.Target.IsDirectory)
        {
            Entries(tree, op.Target);
        }
    }

    private static Dictionary<string, FsNode> Entries(Dictionary<FsNode, Dictionary<string, FsNode>> tree, FsNode dir)
    {
        if (!tree.TryGetValue(dir, out var entries))
        {
            entries = new Dictionary<string, FsNode>(StringComparer.Ordinal);
            tree[dir] = entries;
        }

        return entries;
    }

    private void WriteTree(Dictionary<FsNode, Dictionary<string, FsNode>> tree, FsNode dir, string path, int cut, ImagePolicy policy,
        Random random, Counts counts)
    {
        foreach (var (name, node) in Entries(tree, dir).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var child = Path.Combine(path, name);
            if (node.IsDirectory)
            {
                Directory.CreateDirectory(child);
                WriteTree(tree, node, child, cut, policy, random, counts);
                continue;
            }

            File.WriteAllBytes(child, Content(node, cut, policy, random, counts));
        }
    }

    private byte[] Content(FsNode node, int cut, ImagePolicy policy, Random random, Counts counts)
    {
        var ops = node.Ops.Where(o => o.Entry <= cut).ToList();
        var kept = Choose(ops, o => DataOpDurable(node, o, cut), o => o.Exit <= cut, policy, random, counts);
        var buffer = new GrowableBuffer(node.Initial ?? []);
        var pageSize = FasterLogPageSize?.Invoke(Path.GetFileName(node.FirstPath));
        byte[]? entries = null; // the file with every write applied: where its entries start (they never move)
        var lastMaybeWrite = policy == ImagePolicy.RandomSubset ? kept.FindLastIndex(o => o.Data is not null && !DataOpDurable(node, o, cut)) : -1;
        for (var i = 0; i < kept.Count; i++)
        {
            var op = kept[i];
            if (op.Data is null)
            {
                buffer.Resize(op.ExtendOnly ? Math.Max(buffer.Length, op.Size) : op.Size);
                continue;
            }

            var data = op.Data.AsSpan();
            if (i == lastMaybeWrite && data.Length > Sector && random.Next(3) == 0)
            {
                // Torn: only the first sectors of the write reached the disk.
                var sectors = (data.Length - 1) / Sector;
                data = data[..(Sector * (1 + random.Next(sectors)))];
                counts.Torn++;
            }

            buffer.Write(op.Offset, data);
            if (data.Length == op.Data.Length && pageSize is { } page && random.Next(2) == 0)
            {
                FillTail(node, op, buffer, page, entries ??= Written(node), cut, random, counts);
            }
        }

        return buffer.ToArray();
    }

    // strace copies a write's buffer when the call starts; the kernel copies it a moment later. FasterLog keeps appending
    // to the page it is flushing meanwhile, so the disk can hold newer entries where the trace shows the zeros past the
    // write's last entry. What the buffer came to hold is in the nearest later write of the same bytes; each entry of it in
    // that range is put in the image as FasterLog's writers leave one at any moment: not copied yet (zeros), its payload
    // copied but not its header (FasterLog writes an entry's header last), or whole. Writers copy concurrently, so every
    // entry is chosen on its own; the kernel copies forward, so a header it saw always comes with its whole payload. Entry
    // boundaries are walked from the page's start in the file as every write left it (entries never move once placed; a
    // record's own trailing zeros are no boundary).
    // The later write may start after the cut, and then some of its entries were appended after the cut: an image holding
    // one of those is a state no power loss at the cut can leave. For Nv's records that only adds records nobody was told
    // about; a FasterLog commit record is different: recovery adopts the newest one it finds, so a truncation committed
    // after the cut moved the log's start past records the stores' durable points did not cover yet (a restart then
    // refused the image, exit 6: "The database holds LSN 488, but the WAL starts at LSN 610"). From a write that started
    // after the cut, filling stops at the first commit record. (A known gap: a commit record appended while the earlier
    // write itself ran, before the cut, may have reached the disk through it; such images are no longer made. Ordinary
    // entries of that later write are still filled, with the same timing uncertainty: they only add records nobody was
    // told about.)
    private static void FillTail(FsNode node, DataOp op, GrowableBuffer buffer, int pageSize, byte[] written, int cut, Random random, Counts counts)
    {
        var data = op.Data!;
        var from = op.Offset + data.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        if (from == op.Offset || from >= op.End)
        {
            return; // nothing written, or no zeros past the tail
        }

        var later = node.Ops.Where(o => o.Entry > op.Entry && o.Data is not null && o.Offset <= from && from < o.End).MinBy(o => o.Entry);
        var shared = later is null ? 0 : (int)(from - Math.Max(op.Offset, later.Offset));
        if (later is null || !later.Data.AsSpan((int)(from - shared - later.Offset), shared).SequenceEqual(data.AsSpan((int)(from - shared - op.Offset), shared)))
        {
            return; // no later write of these bytes, or not the same page later on
        }

        var limit = Math.Min(op.End, later.End);
        var pageStart = from & ~(long)(pageSize - 1);
        var pageEnd = Math.Min(pageStart + pageSize, written.Length);
        var position = pageStart == 0 ? FirstEntry(written) : pageStart;
        var filled = false;
        while (position + FasterEntryHeader <= Math.Min(limit, pageEnd))
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(written.AsSpan((int)position + 8, 4));
            if (length == 0)
            {
                break; // the rest of the page is padding, or nothing was ever appended past here
            }

            var payload = length < 0 ? (length == int.MinValue ? int.MaxValue : -(long)length) : length;
            var end = position + FasterEntryHeader + ((payload + 3) & ~3L);
            if (position >= from && length < 0 && later.Entry > cut)
            {
                break; // a commit FasterLog may have made after the cut
            }

            if (position >= from)
            {
                var state = random.Next(4); // 0: not copied yet, 1: payload only, 2 and 3: whole
                var at = (int)(position - later.Offset);
                if (state > 0 && end > position + FasterEntryHeader)
                {
                    buffer.Write(position + FasterEntryHeader, later.Data.AsSpan()[(at + FasterEntryHeader)..(int)(Math.Min(end, limit) - later.Offset)]);
                    if (state > 1)
                    {
                        buffer.Write(position, later.Data.AsSpan(at, FasterEntryHeader));
                    }

                    filled = true;
                }
            }

            position = end; // entries before the tail, and the one it ends in (its own trailing zeros), stay as traced
        }

        if (filled)
        {
            counts.Filled++;
        }
    }

    // FasterLog's log starts at address 64 (the first 64 bytes of the first segment are never written).
    private static long FirstEntry(byte[] written) =>
        written.Length >= 64 && !written.AsSpan(0, 64).ContainsAnyExcept((byte)0) ? 64 : 0;

    // A file as all its writes (in the order they finished) left it.
    private static byte[] Written(FsNode node)
    {
        var buffer = new GrowableBuffer(node.Initial ?? []);
        foreach (var op in node.Ops.Where(o => o.Data is not null))
        {
            buffer.Write(op.Offset, op.Data);
        }

        return buffer.ToArray();
    }

    private sealed class Counts
    {
        public int Durable { get; set; }

        public int Kept { get; set; }

        public int Dropped { get; set; }

        public int Torn { get; set; }

        public int Filled { get; set; }
    }
}
