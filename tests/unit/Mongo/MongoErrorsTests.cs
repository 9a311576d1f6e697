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
        "code-10107", "code-11602", "label", "code-43", "code-133", "code-202", "code-64", "pool-paused", "wait-queue-full", "db-transient"];

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
        "code-43" => Command(43, "CursorNotFound"),
        "code-133" => Command(133, "FailedToSatisfyReadPreference"),
        "code-202" => Command(202, "NetworkInterfaceExceededTimeLimit"),
        "code-64" => Command(64, "WriteConcernTimeout"),
        "pool-paused" => new MongoConnectionPoolPausedException("The connection pool is in paused state for server localhost:27017."),
        "wait-queue-full" => new MongoWaitQueueFullException("The wait queue for acquiring a connection to server localhost:27017 is full."),
        "db-transient" => new Nv.DbWriter.DbWriterException("MongoDB initialization failed: no server", isTransient: true),
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

    [Theory]
    [InlineData(121)] // DocumentValidationFailure
    [InlineData(10334)] // BSONObjectTooLarge
    [InlineData(28)] // PathNotViable
    [InlineData(15)] // Overflow
    public void A_write_error_that_refuses_the_document_itself_is_a_rejection_not_a_transient(int code)
    {
        Assert.True(MongoErrors.IsDocumentRejection(code));
        Assert.False(MongoErrors.IsTransient(Command(code)));
        Assert.False(MongoErrors.IsDocumentRejection(11000));
        Assert.False(MongoErrors.IsDocumentRejection(91));
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
