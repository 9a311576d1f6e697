using Microsoft.Data.Sqlite;
using SQLitePCL;
using static SQLitePCL.raw;

namespace Nv.Shared.Sqlite;

/// <summary>A prepared statement on the raw SQLite handle, bound by index: the hot path of the SQLite database writer
/// (three or four statements per record) and of the SQLite audit sink (two per entry).</summary>
/// <remarks>Microsoft.Data.Sqlite costs about twice the CPU per statement (readers, by-name binding, boxing, UTF-16 round
/// trips). Errors become <see cref="SqliteException"/> exactly as Microsoft.Data.Sqlite raises them, so one
/// classification applies. Text and blob values are copied by SQLite (SQLITE_TRANSIENT), so callers may reuse their
/// buffers. Not thread-safe: each owner uses it under its writer lock. One source file compiled into both Nv.DbWriter and
/// Nv.Audit (neither references the other; a shared assembly would put SQLite in a project of its own).</remarks>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = sqlite3_prepare_v2(_db, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Bind(int index, long value) => Check(sqlite3_bind_int64(_statement, index, value));

    public void Bind(int index, string value) => Check(sqlite3_bind_text(_statement, index, value));

    public void BindNull(int index) => Check(sqlite3_bind_null(_statement, index));

    /// <summary>Binds UTF-8 text.</summary>
    public void BindText(int index, ReadOnlySpan<byte> utf8) => Check(sqlite3_bind_text(_statement, index, utf8));

    /// <summary>Binds a blob.</summary>
    public void BindBlob(int index, ReadOnlySpan<byte> bytes) => Check(sqlite3_bind_blob(_statement, index, bytes));

    /// <summary>Binds UTF-8 text (not a blob), or NULL when <paramref name="utf8"/> is null.</summary>
    public void BindText(int index, byte[]? utf8) =>
        Check(utf8 is null ? sqlite3_bind_null(_statement, index) : sqlite3_bind_text(_statement, index, utf8.AsSpan()));

    /// <summary>Binds UTF-8 text, or NULL when <paramref name="isNull"/>.</summary>
    public void BindText(int index, ReadOnlySpan<byte> utf8, bool isNull) =>
        Check(isNull ? sqlite3_bind_null(_statement, index) : sqlite3_bind_text(_statement, index, utf8));

    /// <summary>Binds a GUID as the 16-byte blob Microsoft.Data.Sqlite writes and reads (<see cref="Guid.ToByteArray()"/> layout).</summary>
    public void Bind(int index, Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes);
        Check(sqlite3_bind_blob(_statement, index, bytes));
    }

    /// <summary>Steps once; true when a row is available.</summary>
    public bool Step()
    {
        var rc = sqlite3_step(_statement);
        if (rc == SQLITE_ROW)
        {
            return true;
        }

        if (rc == SQLITE_DONE)
        {
            return false;
        }

        sqlite3_reset(_statement);
        SqliteException.ThrowExceptionForRC(rc, _db);
        return false;
    }

    /// <summary>Runs a statement that returns no rows, then resets it; returns the number of rows it changed.</summary>
    public int Execute()
    {
        try
        {
            Step();
            return sqlite3_changes(_db);
        }
        finally
        {
            Reset();
        }
    }

    public long GetInt64(int column) => sqlite3_column_int64(_statement, column);

    public string GetString(int column) => sqlite3_column_text(_statement, column).utf8_to_string();

    public bool IsNull(int column) => sqlite3_column_type(_statement, column) == SQLITE_NULL;

    /// <summary>A copy of a text column's UTF-8 bytes, or null for NULL.</summary>
    public byte[]? GetUtf8(int column) => IsNull(column) ? null : sqlite3_column_blob(_statement, column).ToArray();

    /// <summary>A blob column's bytes, valid until the next step or reset.</summary>
    public ReadOnlySpan<byte> GetBlob(int column) => sqlite3_column_blob(_statement, column);

    public Guid GetGuid(int column) => new(sqlite3_column_blob(_statement, column));

    /// <summary>Resets the statement and clears its bindings, so no parameter value outlives its use.</summary>
    public void Reset()
    {
        sqlite3_reset(_statement);
        sqlite3_clear_bindings(_statement);
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
