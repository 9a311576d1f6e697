using System.Net;
using MongoDB.Bson;
using MongoDB.Driver;
using MongoDB.Driver.Core.Clusters;
using MongoDB.Driver.Core.Connections;
using MongoDB.Driver.Core.Servers;
using Nv.DbWriter.Mongo;
using Nv.Unit.Tests.Mongo.Fakes;

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

    public static TheoryData<int, string> TransientWriteConcernErrors() => new()
    {
        { 64, "WriteConcernTimeout" }, { 91, "ShutdownInProgress" }, { 189, "PrimarySteppedDown" }, { 10107, "NotWritablePrimary" },
        { 11600, "InterruptedAtShutdown" }, { 11602, "InterruptedDueToReplStateChange" }, { 13435, "NotPrimaryNoSecondaryOk" },
        { 13436, "NotPrimaryOrSecondary" },
    };

    public static TheoryData<int, string> ConfigurationWriteConcernErrors() => new()
    {
        { 79, "UnknownReplWriteConcern" }, { 100, "UnsatisfiableWriteConcern" }, { 2, "BadValue" }, { 9, "FailedToParse" },
    };

    // The three ways the driver reports a write-concern error: on a single write, on a bulk write, on a command (a commit).
    private static IEnumerable<Exception> WriteConcernFailures(int code, string name) =>
    [
        new MongoWriteException(Connection, null!, FakeErrors.WriteConcernError(code, name), null!),
        FakeErrors.BulkWriteConcern(code, name, []),
        new MongoWriteConcernException(Connection, "write concern error", new WriteConcernResult(new BsonDocument
        {
            { "ok", 1 }, { "n", 1 }, { "writeConcernError", new BsonDocument { { "code", code }, { "codeName", name }, { "errmsg", "boom" } } },
        })),
    ];

    [Theory]
    [MemberData(nameof(TransientWriteConcernErrors))]
    public void A_replication_wait_that_ran_out_or_a_primary_that_changed_is_transient(int code, string name)
    {
        foreach (var exception in WriteConcernFailures(code, name))
        {
            Assert.Equal(code, MongoErrors.WriteConcernCode(exception));
            Assert.True(MongoErrors.IsTransient(exception), $"{exception.GetType().Name} {code}");
            Assert.True(MongoErrors.Wrap(exception, "batch apply").IsTransient);
        }
    }

    [Theory]
    [MemberData(nameof(ConfigurationWriteConcernErrors))]
    public void A_write_concern_the_deployment_cannot_satisfy_is_a_configuration_error_not_a_transient(int code, string name)
    {
        foreach (var exception in WriteConcernFailures(code, name))
        {
            Assert.False(MongoErrors.IsTransient(exception), $"{exception.GetType().Name} {code}");
            var wrapped = MongoErrors.Wrap(exception, "batch apply");
            Assert.False(wrapped.IsTransient);
            Assert.Equal(code, wrapped.ErrorCode);
            Assert.Contains("Nv:DbWriter:MongoWriteConcern", wrapped.Message, StringComparison.Ordinal);
            Assert.Contains(name, wrapped.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_write_concern_error_of_another_code_stays_transient_and_a_configuration_one_wins_over_a_write_error()
    {
        Assert.True(MongoErrors.IsTransient(FakeErrors.BulkWriteConcern(12345, "Unknown", [])));
        var duplicateAndTimeout = new MongoWriteException(Connection, FakeErrors.WriteError(11000, "E11000"), FakeErrors.WriteConcernError(64, "WriteConcernTimeout"), null!);
        Assert.True(MongoErrors.IsTransient(duplicateAndTimeout)); // the write may not be durable: the retry reads what is stored
        var networkAndUnsatisfiable = new MongoWriteException(Connection, FakeErrors.WriteError(91, "ShutdownInProgress"),
            FakeErrors.WriteConcernError(100, "UnsatisfiableWriteConcern"), null!);
        Assert.False(MongoErrors.IsTransient(networkAndUnsatisfiable));
    }

    [Fact]
    public void A_cursor_the_server_no_longer_knows_is_transient()
    {
        var killed = new MongoCursorNotFoundException(Connection, 42, new BsonDocument("find", "x"));
        Assert.True(MongoErrors.IsTransient(killed));
        Assert.True(MongoErrors.Wrap(killed, "read").IsTransient);
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
