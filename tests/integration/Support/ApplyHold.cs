using Nv.DbWriter.Sqlite;

namespace Nv.Integration.Tests.Support;

/// <summary>Holds the SQLite entity store's next write batch (an apply, or a durable point) inside its transaction until
/// released, as a slow database would (a durable point that takes the hold first holds the writer, and so the next apply,
/// just the same): what the pipeline does meanwhile with the writes already durable in the WAL.</summary>
internal sealed class ApplyHold : IDisposable
{
    private readonly SemaphoreSlim _reached = new(0);
    private readonly SemaphoreSlim _release = new(0);

    private ApplyHold(SqliteDbWriter writer) =>
        writer.InjectBatchFailure = () =>
        {
            writer.InjectBatchFailure = null; // the next batch only
            _reached.Release();
            _release.Wait(TimeSpan.FromSeconds(60));
            return null;
        };

    /// <summary>Holds the next batch of <paramref name="writer"/> (the host's <c>IDbWriter</c>, a SQLite store).</summary>
    public static ApplyHold Next(Nv.DbWriter.IDbWriter writer) => new((SqliteDbWriter)writer);

    /// <summary>Waits until a batch is held; false after <paramref name="timeout"/>.</summary>
    public Task<bool> ReachedAsync(TimeSpan timeout, CancellationToken cancellationToken) => _reached.WaitAsync(timeout, cancellationToken);

    /// <summary>Lets the held batch go on.</summary>
    public void Release() => _release.Release();

    public void Dispose()
    {
        _reached.Dispose();
        _release.Dispose();
    }
}
