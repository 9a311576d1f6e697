using Microsoft.Data.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>Classifies SQLite failures: transient (retry the batch later) or one of the classes that stop the store.</summary>
/// <remarks>Failure policy (the README's "SQLite errors" table is generated from the same decisions): only conditions that
/// leave the file intact and may pass by themselves are retried. Corruption, I/O errors, an unwritable file and bugs stop
/// the store: retrying a write after an I/O error could acknowledge data a failed fsync never stored (the reason
/// PostgreSQL PANICs on fsync failure), and retrying corruption only spreads it.</remarks>
internal static class SqliteErrors
{
    // Primary result codes, https://www.sqlite.org/rescode.html
    private const int Error = 1;
    private const int Internal = 2;
    private const int Perm = 3;
    private const int Abort = 4;
    private const int Busy = 5;
    private const int Locked = 6;
    private const int NoMem = 7;
    private const int ReadOnly = 8;
    private const int Interrupt = 9;
    private const int IoErr = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int Protocol = 15;
    private const int Schema = 17;
    private const int NotADb = 26;

    // Extended codes that change the class of their primary code.
    private const int IoErrNoMem = IoErr | (12 << 8); // SQLITE_IOERR_NOMEM: memory, not the disk

    /// <summary>The class of a SQLite failure, from its primary and extended result codes.</summary>
    public static DbErrorClass Classify(int primary, int extended)
    {
        if (extended == IoErrNoMem)
        {
            return DbErrorClass.Transient;
        }

        return primary switch
        {
            Busy or Locked or Protocol => DbErrorClass.Transient, // lock contention (Protocol: a WAL-index lock race SQLite asks to retry)
            NoMem or Interrupt or Abort or Schema or Full => DbErrorClass.Transient, // passing conditions; SQLite rolled the transaction back
            Corrupt or NotADb => DbErrorClass.Corruption,
            IoErr => DbErrorClass.IoError,
            ReadOnly or Perm or CantOpen => DbErrorClass.Unwritable,
            Error or Internal => DbErrorClass.Internal,
            _ => DbErrorClass.Internal, // misuse, constraint, mismatch, range, too big, ...: a bug or a damaged schema
        };
    }

    public static DbErrorClass Classify(SqliteException exception) =>
        Classify(exception.SqliteErrorCode, exception.SqliteExtendedErrorCode);

    /// <summary>Busy, locked or another passing condition: the data on disk is intact and a later retry may succeed.</summary>
    public static bool IsTransient(SqliteException exception) => Classify(exception) == DbErrorClass.Transient;

    public static DbWriterException Wrap(SqliteException exception, string operation)
    {
        var errorClass = Classify(exception);
        var what = errorClass switch
        {
            DbErrorClass.Transient => "",
            DbErrorClass.Corruption => " The database file is damaged or is not a database: the store is stopped; restore it from a backup or rebuild it from the WAL.",
            DbErrorClass.IoError => " The operating system reported an I/O error: the store is stopped; check the disk and the kernel log, then restart.",
            DbErrorClass.Unwritable => " The database cannot be opened or written (read-only filesystem, permissions, missing directory): the store is stopped.",
            _ => " An unexpected SQLite error (a bug or a damaged schema): the store is stopped.",
        };
        return new($"SQLite {operation} failed ({errorClass}, SQLite code {exception.SqliteErrorCode}/{exception.SqliteExtendedErrorCode}): {exception.Message}{what}",
            errorClass, exception.SqliteErrorCode, exception);
    }
}
