namespace Nv.Host.Changes;

/// <summary>Applied changes in LSN order, read from what the stores hold: from any position the WAL still holds, then
/// following new changes as they are applied.</summary>
/// <remarks>
/// Exactly once and in order: every applied entity change has one position (<see cref="ChangePosition"/>); a consumer that
/// resumes after the last change it processed (<see cref="ChangePosition.TryParseAfter"/> of its <see cref="ChangeEvent.Id"/>)
/// neither misses nor repeats one, across host restarts.
/// Only committed changes appear (rejected writes never), at the latest right after the database commit.
/// A slow consumer never slows writers: it reads the WAL and the database's stored outcomes at its own pace and holds no
/// buffer the write path waits for; when it falls behind past WAL truncation it gets <see cref="ChangesGoneException"/>.
/// Thread-safe; any number of consumers.
/// </remarks>
public interface IChangeFeed
{
    /// <summary>Throws <see cref="ChangesGoneException"/> when <paramref name="from"/> is no longer held (what
    /// <see cref="ReadAsync"/> would throw on its first read).</summary>
    void ThrowIfGone(ChangePosition from);

    /// <summary>The changes at or after <paramref name="from"/> (<see cref="Nv.Wal.Lsn.None"/>: the oldest held), in order;
    /// with <see cref="ChangeFeedOptions.Follow"/> it never ends until cancelled.</summary>
    /// <exception cref="ChangesGoneException">The position is no longer held (also when the feed falls behind truncation).</exception>
    IAsyncEnumerable<ChangeEvent> ReadAsync(ChangePosition from, ChangeFeedOptions? options = null, CancellationToken cancellationToken = default);
}
