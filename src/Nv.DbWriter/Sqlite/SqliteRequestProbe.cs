using Microsoft.Data.Sqlite;
using Nv.Shared.Sqlite;

namespace Nv.DbWriter.Sqlite;

/// <summary>Which of a batch's request ids have any stored outcome: one prepared index probe per id, all in one read
/// transaction, on a read-only connection of its own.</summary>
/// <remarks>
/// The commit stage asks the store about every batch it appends, and nearly always every id is new. A full read through
/// Microsoft.Data.Sqlite (a pooled connection, a command whose text depends on the batch size and is parsed each time,
/// by-name parameters) cost ~70 µs per batch plus ~4.5 µs per id on the serial commit stage; the probe reads only the
/// <c>(request_id, scope)</c> index, and the full read runs for the ids it finds (retries), so answers are unchanged: an id
/// the probe does not find had no outcome in the snapshot it read, as an id the full read does not find. Used by one
/// caller at a time: <see cref="TryProbe"/> answers null when another thread holds it (the caller then reads in full).
/// The transaction ends with every call, so the connection never pins the store's WAL file (checkpoints, the erasure
/// scrub).
/// </remarks>
internal sealed class SqliteRequestProbe : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly SqliteStatement _begin;
    private readonly SqliteStatement _probe;
    private readonly SqliteStatement _end;
    private bool _disposed;

    public SqliteRequestProbe(string readConnectionString)
    {
        _connection = new SqliteConnection(readConnectionString);
        try
        {
            _connection.Open();
            _begin = new SqliteStatement(_connection, "BEGIN");
            _probe = new SqliteStatement(_connection, "SELECT 1 FROM _nv_requests WHERE request_id = ?1 LIMIT 1");
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

    /// <summary>The ids of <paramref name="requestIds"/> that have at least one stored outcome (for any caller), or null
    /// when the probe is busy or closed.</summary>
    /// <exception cref="SqliteException">The store could not be read.</exception>
    public HashSet<string>? TryProbe(IEnumerable<string> requestIds)
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
                foreach (var id in requestIds)
                {
                    _probe.Bind(1, id);
                    var found = _probe.Step();
                    _probe.Reset();
                    if (found)
                    {
                        present.Add(id);
                    }
                }

                _end.Execute();
            }
            catch
            {
                // Whatever state the connection is left in (a read transaction still open would pin the WAL file), it is
                // closed: the owner opens a new probe next time.
                Close();
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
    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            Close();
        }
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
