using Nv.Wal;

namespace Nv.DbWriter;

/// <summary>The database failed while reading or writing; <see cref="IsTransient"/> says whether a retry may succeed.</summary>
/// <remarks>Transient failures inside <see cref="IDbWriter.ApplyAsync"/> are reported as <see cref="ApplyStatus.Transient"/>
/// results instead; this exception surfaces them from the other operations, and surfaces non-transient ones
/// (corruption, schema damage) everywhere.</remarks>
public sealed class DbWriterException : NvException
{
    private readonly bool _isTransient;

    /// <summary>Creates the exception.</summary>
    public DbWriterException(string message, bool isTransient, int? errorCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        _isTransient = isTransient;
        ErrorCode = errorCode;
    }

    /// <summary>The store's native error code (e.g. the SQLite primary result code), when known.</summary>
    public int? ErrorCode { get; }

    /// <inheritdoc />
    public override bool IsTransient => _isTransient;
}
