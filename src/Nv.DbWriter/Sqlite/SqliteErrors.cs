using Microsoft.Data.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>Classifies SQLite failures as transient (retry the batch later) or not (stop and call an operator).</summary>
internal static class SqliteErrors
{
    // Primary result codes, https://www.sqlite.org/rescode.html
    private const int Busy = 5;
    private const int Locked = 6;
    private const int NoMem = 7;
    private const int ReadOnly = 8;
    private const int Interrupt = 9;
    private const int IoErr = 10;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int Protocol = 15;

    /// <summary>Lock contention, I/O errors, a full disk, a read-only remount or an unopenable file: the data on
    /// disk is intact and a later retry may succeed. Corruption, constraint and schema errors are not transient.</summary>
    public static bool IsTransient(SqliteException exception) => exception.SqliteErrorCode switch
    {
        Busy or Locked or NoMem or ReadOnly or Interrupt or IoErr or Full or CantOpen or Protocol => true,
        _ => false,
    };

    public static DbWriterException Wrap(SqliteException exception, string operation) =>
        new($"SQLite {operation} failed: {exception.Message}", IsTransient(exception), exception.SqliteErrorCode, exception);
}
