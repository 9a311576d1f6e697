using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>Which of a batch's values have a row: one prepared index probe per value, all in one read transaction, on a
/// read-only connection of its own.</summary>
/// <remarks>
/// The commit stage asks the store about every batch it appends (request outcomes; with encryption on, the data keys of
/// the batch's subjects), and nearly always every value is new. A full read through Microsoft.Data.Sqlite (a pooled
/// connection, a command whose text depends on the batch size and is parsed each time, by-name parameters) cost ~70 µs
/// per batch plus ~4.5 µs per request id on the serial commit stage; a probe reads only an index, and the full read runs
/// for the values it finds, so answers are unchanged: a value the probe does not find had no row in the snapshot it
/// read, as one the full read does not find. Used by one caller at a time: <see cref="TryProbe"/> answers null when
/// another thread holds it (the caller then reads in full). The transaction ends with every call, so the connection
/// never pins the store's WAL file (checkpoints, the erasure scrub); the connection is not pooled, so a probe that failed
/// inside its transaction cannot hand that transaction to another reader (it is rolled back, then the connection closed).
/// </remarks>
internal sealed class SqliteIndexProbe : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly SqliteStatement _begin;
    private readonly SqliteStatement _probe;
    private readonly SqliteStatement _end;
    private volatile bool _disposed;

    /// <param name="readConnectionString">A read-only, unpooled connection to the store.</param>
    /// <param name="existsSql">A query returning a row when <c>?1</c> has one, served by an index.</param>
    /// <param name="busyTimeout">How long a probe waits for a lock (raw statements bypass Microsoft.Data.Sqlite's retry loop).</param>
    public SqliteIndexProbe(string readConnectionString, string existsSql, TimeSpan busyTimeout)
    {
        _connection = new SqliteConnection(readConnectionString);
        try
        {
            _connection.Open();
            SQLitePCL.raw.sqlite3_busy_timeout(_connection.Handle, (int)Math.Ceiling(busyTimeout.TotalMilliseconds));
            _begin = new SqliteStatement(_connection, "BEGIN");
            _probe = new SqliteStatement(_connection, existsSql);
            _end = new SqliteStatement(_connection, "COMMIT");
        }
        catch
        {
            _begin?.Dispose();
            _probe?.Dispose();
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>The values of <paramref name="values"/> that have a row, or null when the probe is busy or closed.</summary>
    /// <exception cref="SqliteException">The store could not be read.</exception>
    public HashSet<string>? TryProbe(IEnumerable<string> values)
    {
        if (!_gate.TryEnter())
        {
            return null;
        }

        try
        {
            if (_disposed)
            {
                return null;
            }

            var present = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                _begin.Execute();
                foreach (var value in values)
                {
                    _probe.Bind(1, value);
                    var found = _probe.Step();
                    _probe.Reset();
                    if (found)
                    {
                        present.Add(value);
                    }
                }

                _end.Execute();
            }
            catch
            {
                // A read transaction left open would pin the WAL file: rolled back, and the connection closed (the owner
                // opens a new probe next time).
                RollBackAndClose();
                throw;
            }

            return present;
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>Whether the probe was closed (disposed, or after a failed read).</summary>
    public bool IsClosed => _disposed;

    public void Dispose()
    {
        lock (_gate)
        {
            Close();
        }
    }

    private void RollBackAndClose()
    {
        try
        {
            _probe.Reset();
            if (SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
            {
                using var rollback = new SqliteStatement(_connection, "ROLLBACK");
                rollback.Execute();
            }
        }
        catch (SqliteException)
        {
            // Closing the connection ends whatever is left of the transaction.
        }

        Close();
    }

    private void Close()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _begin.Dispose();
        _probe.Dispose();
        _end.Dispose();
        _connection.Dispose();
    }
}
