using Microsoft.Data.Sqlite;
using Nv.DbWriter;
using Nv.DbWriter.Sqlite;

namespace Nv.Unit.Tests.DbWriter;

/// <summary>Each SQLite result code class and what Nv does with it (the README's "SQLite errors" table).</summary>
public sealed class SqliteErrorsTests
{
    [Theory]
    [InlineData(5, 5, DbErrorClass.Transient)]              // BUSY
    [InlineData(5, 517, DbErrorClass.Transient)]            // BUSY_SNAPSHOT
    [InlineData(6, 6, DbErrorClass.Transient)]              // LOCKED
    [InlineData(7, 7, DbErrorClass.Transient)]              // NOMEM
    [InlineData(9, 9, DbErrorClass.Transient)]              // INTERRUPT
    [InlineData(13, 13, DbErrorClass.Transient)]            // FULL
    [InlineData(15, 15, DbErrorClass.Transient)]            // PROTOCOL
    [InlineData(10, 3082, DbErrorClass.Transient)]          // IOERR_NOMEM: memory, not the disk
    [InlineData(11, 11, DbErrorClass.Corruption)]           // CORRUPT
    [InlineData(11, 267, DbErrorClass.Corruption)]          // CORRUPT_VTAB
    [InlineData(26, 26, DbErrorClass.Corruption)]           // NOTADB
    [InlineData(10, 10, DbErrorClass.IoError)]              // IOERR
    [InlineData(10, 266, DbErrorClass.IoError)]             // IOERR_READ
    [InlineData(10, 778, DbErrorClass.IoError)]             // IOERR_WRITE
    [InlineData(10, 1034, DbErrorClass.IoError)]            // IOERR_FSYNC
    [InlineData(10, 522, DbErrorClass.IoError)]             // IOERR_SHORT_READ
    [InlineData(8, 8, DbErrorClass.Unwritable)]             // READONLY
    [InlineData(3, 3, DbErrorClass.Unwritable)]             // PERM
    [InlineData(14, 14, DbErrorClass.Unwritable)]           // CANTOPEN
    [InlineData(1, 1, DbErrorClass.Internal)]               // ERROR (no such table: schema damage)
    [InlineData(19, 1555, DbErrorClass.Internal)]           // CONSTRAINT_PRIMARYKEY
    [InlineData(21, 21, DbErrorClass.Internal)]             // MISUSE
    [InlineData(18, 18, DbErrorClass.Internal)]             // TOOBIG
    public void Each_result_code_has_its_class(int primary, int extended, DbErrorClass expected)
    {
        var exception = new SqliteException("injected", primary, extended);
        Assert.Equal(expected, SqliteErrors.Classify(exception));
        Assert.Equal(expected == DbErrorClass.Transient, SqliteErrors.IsTransient(exception));

        var wrapped = SqliteErrors.Wrap(exception, "test");
        Assert.Equal(expected, wrapped.ErrorClass);
        Assert.Equal(expected == DbErrorClass.Transient, wrapped.IsTransient);
        Assert.Contains(expected.ToString(), wrapped.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, 778)] // an I/O error: the file's state is unknown after a failed write or fsync
    [InlineData(8, 8)]    // a read-only remount does not go away by itself
    [InlineData(14, 14)]
    public void Io_errors_and_unwritable_files_are_never_retried(int primary, int extended) =>
        Assert.False(SqliteErrors.IsTransient(new SqliteException("injected", primary, extended)));
}
