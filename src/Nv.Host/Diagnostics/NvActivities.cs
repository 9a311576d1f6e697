using System.Diagnostics;
using Nv.Host.Pipeline;

namespace Nv.Host.Diagnostics;

/// <summary>Nv's traces: the <see cref="ActivitySource"/> named <c>Nv</c> (<see cref="NvTelemetry.ActivitySourceName"/>).</summary>
/// <remarks>
/// One <c>nv.write</c> activity per write, started in <see cref="IWritePipeline.WriteAsync"/> as a child of the caller's
/// current activity and stopped when the caller is answered. The stages run on their own loops, so their spans name
/// their parent explicitly: <c>nv.wal.append</c> is a child of its write; the batch stages (<c>nv.wal.flush</c>, the
/// group commit; <c>nv.apply</c>, one database transaction; <c>nv.audit</c>, one audit batch) are one span per batch,
/// a child of the batch's first write and linked to every write in the batch, which is how the batching shows.
/// Cost when nobody listens: one <see cref="ActivitySource.HasListeners"/> check per write and per batch, no allocation.
/// </remarks>
internal static class NvActivities
{
    public const string WriteName = "nv.write";
    public const string AppendName = "nv.wal.append";
    public const string FlushName = "nv.wal.flush";
    public const string ApplyName = "nv.apply";
    public const string AuditName = "nv.audit";

    public const string DtoTypeTag = "nv.dto_type";
    public const string EntityIdTag = "nv.entity_id";
    public const string RequestIdTag = "nv.request_id";
    public const string LsnTag = "nv.lsn";
    public const string OperationTag = "nv.operation";
    public const string AckTag = "nv.ack";
    public const string StatusTag = "nv.status";
    public const string BatchSizeTag = "nv.batch.size";
    public const string FirstLsnTag = "nv.lsn.first";

    public static readonly ActivitySource Source = new(NvTelemetry.ActivitySourceName, typeof(NvActivities).Assembly.GetName().Version?.ToString());

    /// <summary>Starts the activity of one write, or returns null (cheaply) when nobody listens.</summary>
    public static Activity? StartWrite(WriteRequest request, AckLevel ack)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(WriteName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(DtoTypeTag, request.DtoType);
            activity.SetTag(EntityIdTag, request.EntityId);
            activity.SetTag(RequestIdTag, request.RequestId);
            activity.SetTag(OperationTag, OperationName(request.Operation));
            activity.SetTag(AckTag, AckName(ack));
        }

        return activity;
    }

    /// <summary>Records a write's outcome on its activity.</summary>
    public static void Answered(Activity? activity, WriteOutcome outcome)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        activity.SetTag(LsnTag, outcome.Lsn.Value);
        activity.SetTag(StatusTag, StatusName(outcome.Status));
        if (outcome.Status == WriteStatus.Rejected)
        {
            activity.SetStatus(ActivityStatusCode.Error, outcome.Detail);
        }
    }

    /// <summary>Records a write's failure on its activity.</summary>
    public static void Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        if (activity.IsAllDataRequested)
        {
            activity.AddException(exception);
        }
    }

    /// <summary>The span of one WAL append, a child of its write (null when the write is not traced).</summary>
    public static Activity? StartAppend(PendingWrite write)
    {
        if (write.Activity is not { } parent || !Source.HasListeners())
        {
            return null;
        }

        var activity = StartDetached(AppendName, parent.Context, null);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(DtoTypeTag, write.Request.DtoType);
            activity.SetTag(EntityIdTag, write.Request.EntityId);
            activity.SetTag(RequestIdTag, write.Request.RequestId);
        }

        return activity;
    }

    /// <summary>Ends an append span with the LSN the WAL assigned.</summary>
    public static void Appended(Activity? append, PendingWrite write)
    {
        if (append is null)
        {
            return;
        }

        if (append.IsAllDataRequested && write.Record is { } record)
        {
            append.SetTag(LsnTag, record.Lsn.Value);
        }

        append.Dispose();
        if (write.Activity is { IsAllDataRequested: true } activity && write.Record is { } r)
        {
            activity.SetTag(LsnTag, r.Lsn.Value);
        }
    }

    /// <summary>The span of one batch stage (flush, apply, audit): a child of the batch's first traced write, linked to
    /// every traced write of the batch. Null when nobody listens or no write of the batch is traced.</summary>
    public static Activity? StartBatch(string name, IEnumerable<PendingWrite> writes, int count)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        List<ActivityLink>? links = null;
        ActivityContext parent = default;
        long first = 0, last = 0;
        foreach (var write in writes)
        {
            if (write.Record is { } record)
            {
                first = first == 0 ? record.Lsn.Value : first;
                last = record.Lsn.Value;
            }

            if (write.Activity is { } activity)
            {
                if (links is null)
                {
                    parent = activity.Context;
                    links = new List<ActivityLink>(count);
                }

                links.Add(new ActivityLink(activity.Context));
            }
        }

        if (links is null)
        {
            return null;
        }

        var span = StartDetached(name, parent, links);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(BatchSizeTag, count);
            span.SetTag(FirstLsnTag, first);
            span.SetTag(LsnTag, last);
        }

        return span;
    }

    /// <summary>Ends a span, marking it failed when <paramref name="error"/> is set.</summary>
    public static void EndBatch(Activity? span, Exception? error = null) => EndBatch(span, error?.Message);

    /// <summary>Ends a span, marking it failed when <paramref name="error"/> is set.</summary>
    public static void EndBatch(Activity? span, string? error)
    {
        if (span is null)
        {
            return;
        }

        if (error is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, error);
        }

        span.Dispose();
    }

    // The stage loops are not inside any write's flow: a span names its parent explicitly and does not become the loop's
    // Activity.Current (which would make it the implicit parent of whatever the loop does next).
    private static Activity? StartDetached(string name, ActivityContext parent, IEnumerable<ActivityLink>? links)
    {
        var current = Activity.Current;
        var activity = Source.StartActivity(name, ActivityKind.Internal, parent, links: links);
        Activity.Current = current;
        return activity;
    }

    private static string OperationName(Nv.Wal.WalOperation operation) => operation switch
    {
        Nv.Wal.WalOperation.Create => "create",
        Nv.Wal.WalOperation.Update => "update",
        Nv.Wal.WalOperation.Delete => "delete",
        _ => operation.ToString(),
    };

    private static string AckName(AckLevel ack) => ack switch
    {
        AckLevel.Durable => "durable",
        AckLevel.Audited => "audited",
        _ => "applied",
    };

    private static string StatusName(WriteStatus status) => status switch
    {
        WriteStatus.Applied => "applied",
        WriteStatus.Rejected => "rejected",
        WriteStatus.Pending => "pending",
        _ => "accepted",
    };
}
