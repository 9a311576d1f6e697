using System.Net;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;
using Nv.DbWriter.Mongo;

namespace Nv.Unit.Tests.Mongo;

/// <summary>Transient and duplicate-key classification of driver exceptions, built without a server.</summary>
public sealed class MongoErrorsTests
{
    private static readonly ConnectionId Connection = new(new ServerId(new ClusterId(), new DnsEndPoint("localhost", 27017)));

    private static MongoCommandException Command(int code, string name = "Error") =>
        new(Connection, "boom", new BsonDocument("insert", "x"), new BsonDocument { { "ok", 0 }, { "code", code }, { "codeName", name }, { "errmsg", "boom" } });

    public static TheoryData<string> TransientCases() => ["connection", "not-primary", "recovering", "timeout", "exec-timeout", "code-91", "code-189",
        "code-10107", "code-11602", "label"];

    private static Exception Make(string name) => name switch
    {
        "connection" => new MongoConnectionException(Connection, "connection reset"),
        "not-primary" => new MongoNotPrimaryException(Connection, new BsonDocument("insert", "x"), new BsonDocument { { "ok", 0 }, { "code", 10107 } }),
        "recovering" => new MongoNodeIsRecoveringException(Connection, new BsonDocument("insert", "x"), new BsonDocument { { "ok", 0 }, { "code", 11600 } }),
        "timeout" => new TimeoutException("A timeout occurred after 10000ms selecting a server"),
        "exec-timeout" => new MongoExecutionTimeoutException(Connection, "operation exceeded time limit"),
        "code-91" => Command(91, "ShutdownInProgress"),
        "code-189" => Command(189, "PrimarySteppedDown"),
        "code-10107" => Command(10107, "NotWritablePrimary"),
        "code-11602" => Command(11602, "InterruptedDueToReplStateChange"),
        "label" => Labelled(Command(2), "RetryableWriteError"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static MongoException Labelled(MongoException exception, string label)
    {
        exception.AddErrorLabel(label);
        return exception;
    }

    [Theory]
    [MemberData(nameof(TransientCases))]
    public void Network_election_and_timeout_failures_are_transient(string name)
    {
        var exception = Make(name);
        Assert.True(MongoErrors.IsTransient(exception), name);
        Assert.False(MongoErrors.IsDuplicateKey(exception), name);
    }

    [Fact]
    public void Bad_values_and_unknown_failures_are_not_transient()
    {
        Assert.False(MongoErrors.IsTransient(Command(2, "BadValue")));
        Assert.False(MongoErrors.IsTransient(Command(13, "Unauthorized")));
        Assert.False(MongoErrors.IsTransient(new InvalidOperationException("bug")));
    }

    [Fact]
    public void E11000_is_a_duplicate_key_and_not_transient()
    {
        var duplicate = Command(11000, "DuplicateKey");
        Assert.True(MongoErrors.IsDuplicateKey(duplicate));
        Assert.False(MongoErrors.IsTransient(duplicate));
        Assert.False(MongoErrors.IsDuplicateKey(Command(2)));
    }

    [Fact]
    public void Failures_outside_apply_are_wrapped_with_their_transience()
    {
        var wrapped = MongoErrors.Wrap(new MongoConnectionException(Connection, "reset"), "read");
        Assert.True(wrapped.IsTransient);
        Assert.StartsWith("MongoDB read failed", wrapped.Message, StringComparison.Ordinal);
        Assert.False(MongoErrors.Wrap(Command(2), "read").IsTransient);
    }
}
