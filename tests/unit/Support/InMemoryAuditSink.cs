using Nv.Audit;

namespace Nv.Unit.Tests.Support;

/// <summary>An in-memory IAuditSink (no hashing) for pipeline logic tests only.</summary>
internal sealed class InMemoryAuditSink : IAuditSink
{
    private readonly List<AuditEntry> _entries = [];
    private readonly HashSet<Guid> _ids = [];
    private readonly Lock _gate = new();

    /// <summary>While true, AppendAsync throws (the store is unwritable).</summary>
    public volatile bool Unwritable;

    /// <summary>When set, every AppendAsync waits for it first (a stuck audit store).</summary>
    public volatile Task? AppendGate;

    /// <summary>Added to every AppendAsync (a slow audit store).</summary>
    public TimeSpan AppendDelay { get; set; }

    /// <summary>Entries per append call, in order.</summary>
    public List<int> BatchSizes { get; } = [];

    public IReadOnlyList<AuditEntry> Entries { get { lock (_gate) { return [.. _entries]; } } }

    /// <summary>The entry counts each <see cref="DeferIndexesAsync"/> was told of, in order.</summary>
    public List<long> IndexDeferrals { get; } = [];

    /// <summary>How many times <see cref="BuildIndexesAsync"/> ran (failed runs included).</summary>
    public int IndexBuilds { get; private set; }

    /// <summary>How many of the next <see cref="BuildIndexesAsync"/> calls fail (as on a full disk).</summary>
    public int FailIndexBuilds { get; set; }

    /// <summary>When set, a build holds the store's writer until it is cancelled (a long index build on SQLite): appends
    /// wait for it meanwhile.</summary>
    public bool BuildsHoldTheWriter { get; set; }

    /// <summary>Completes when a build that holds the writer started.</summary>
    public TaskCompletionSource WriterHeldByBuild { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<bool> DeferIndexesAsync(long entries, CancellationToken cancellationToken = default)
    {
        IndexDeferrals.Add(entries);
        return Task.FromResult(true);
    }

    public async Task BuildIndexesAsync(CancellationToken cancellationToken = default)
    {
        IndexBuilds++;
        if (FailIndexBuilds > 0)
        {
            FailIndexBuilds--;
            throw new IOException("database or disk is full");
        }

        if (BuildsHoldTheWriter)
        {
            var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            AppendGate = held.Task;
            WriterHeldByBuild.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                AppendGate = null;
                held.TrySetResult();
            }
        }
    }

    public Task InitializeAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task<int> AppendAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken = default)
    {
        if (AppendGate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        if (AppendDelay > TimeSpan.Zero)
        {
            await Task.Delay(AppendDelay, cancellationToken);
        }

        if (Unwritable)
        {
            throw new IOException("audit store is read-only");
        }

        lock (_gate)
        {
            BatchSizes.Add(entries.Count);
            var inserted = 0;
            foreach (var entry in entries)
            {
                if (_ids.Add(entry.Id))
                {
                    _entries.Add(entry with { Sequence = _entries.Count + 1 });
                    inserted++;
                }
            }

            return inserted;
        }
    }

    public Task<IReadOnlySet<Guid>> ContainsAsync(IReadOnlyCollection<Guid> ids, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlySet<Guid>>(ids.Where(_ids.Contains).ToHashSet());
        }
    }

    public Task<AuditEntry?> GetAsync(Guid id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_entries.FirstOrDefault(e => e.Id == id));
        }
    }

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        Task.FromResult(new AuditPage(Entries, null));

    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(new AuditVerification { IsValid = true, EntriesChecked = Entries.Count });

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
