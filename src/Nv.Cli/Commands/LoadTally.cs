using Nv.Host.Pipeline;

namespace Nv.Cli.Commands;

/// <summary>Thread-safe counts of load outcomes.</summary>
internal sealed class LoadTally
{
    private long _applied;
    private long _rejected;
    private long _pending;
    private long _failed;

    public long Applied => Interlocked.Read(ref _applied);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Pending => Interlocked.Read(ref _pending);

    public long Failed => Interlocked.Read(ref _failed);

    public long Total => Applied + Rejected + Pending;

    public void Count(WriteStatus status)
    {
        switch (status)
        {
            case WriteStatus.Applied: Interlocked.Increment(ref _applied); break;
            case WriteStatus.Rejected: Interlocked.Increment(ref _rejected); break;
            default: Interlocked.Increment(ref _pending); break;
        }
    }

    public void Fail() => Interlocked.Increment(ref _failed);
}
