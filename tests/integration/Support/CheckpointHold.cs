namespace Nv.Integration.Tests.Support;

/// <summary>Holds a SQLite store's background WAL checkpointer (<c>SqliteWalCheckpointer</c>) inside its tick, before its
/// checkpoint, until disposed: no checkpoint runs meanwhile. Each PASSIVE checkpoint syncs the store's WAL file when it has
/// frames to copy, which would make every earlier commit durable and hide a durable point that synced nothing.</summary>
/// <remarks>Takes the checkpointer's test hook setter (<c>checkpointer.OnTick = hook</c>): the checkpointer type is compiled
/// into both store assemblies, so tests cannot name it. Dispose it before the store (the store's dispose waits for the
/// tick).</remarks>
internal sealed class CheckpointHold : IDisposable
{
    private readonly Action<Action?> _setOnTick;
    private readonly ManualResetEventSlim _release = new();

    private CheckpointHold(Action<Action?> setOnTick) => _setOnTick = setOnTick;

    public static async Task<CheckpointHold> StartAsync(Action<Action?> setOnTick, CancellationToken cancellationToken)
    {
        var hold = new CheckpointHold(setOnTick);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        setOnTick(() =>
        {
            entered.TrySetResult();
            hold._release.Wait(TimeSpan.FromMinutes(2));
        });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        return hold;
    }

    public void Dispose()
    {
        _setOnTick(null);
        _release.Set();
    }
}
