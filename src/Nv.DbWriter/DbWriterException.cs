using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The database failed while reading or writing; <see cref="IsTransient"/> says whether a retry may succeed and
/// <see cref="ErrorClass"/> what kind of failure it is.</summary>
/// <remarks>Transient failures inside <see cref="IDbWriter.ApplyAsync"/> are reported as <see cref="ApplyStatus.Transient"/>
/// results instead; this exception surfaces them from the other operations, and surfaces non-transient ones
/// (corruption, I/O errors, schema damage) everywhere. A non-transient failure stops the store: it is never retried, and
/// later calls to the same writer throw it again.</remarks>
public sealed class DbWriterException : NvException
{
    /// <summary>Creates the exception; a non-transient failure is classed <see cref="DbErrorClass.Internal"/>.</summary>
    public DbWriterException(string message, bool isTransient, int? errorCode = null, Exception? innerException = null)
        : this(message, isTransient ? DbErrorClass.Transient : DbErrorClass.Internal, errorCode, innerException)
    {
    }

    /// <summary>Creates the exception with its class.</summary>
    public DbWriterException(string message, DbErrorClass errorClass, int? errorCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorClass = errorClass;
        ErrorCode = errorCode;
    }

    /// <summary>The store's native error code (e.g. the SQLite primary result code), when known.</summary>
    public int? ErrorCode { get; }

    /// <summary>What kind of failure this is; only <see cref="DbErrorClass.Transient"/> is retried.</summary>
    public DbErrorClass ErrorClass { get; }

    /// <inheritdoc />
    public override bool IsTransient => ErrorClass == DbErrorClass.Transient;
}
