namespace Nv.Audit.Sqlite;

/// <summary>The last run's environment (<c>audit_environment</c>), which the host compares the next start with.</summary>
internal sealed partial class SqliteAuditSink
{
    public async Task<IReadOnlyDictionary<string, string>?> GetRunEnvironmentAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, value FROM audit_environment ORDER BY key";
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            values[reader.GetString(0)] = reader.GetString(1);
        }

        return values.Count == 0 ? null : values;
    }

    public async Task SetRunEnvironmentAsync(IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            InitializeCore();
            using var transaction = _writer!.BeginTransaction();
            using (var clear = _writer.CreateCommand())
            {
                clear.Transaction = transaction;
                clear.CommandText = "DELETE FROM audit_environment";
                clear.ExecuteNonQuery();
            }

            using var insert = _writer.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO audit_environment (key, value) VALUES ($key, $value)";
            var key = insert.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Text);
            var value = insert.Parameters.Add("$value", Microsoft.Data.Sqlite.SqliteType.Text);
            foreach (var (k, v) in values)
            {
                key.Value = k;
                value.Value = v;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
            _dirty = true;
        }
        finally
        {
            _gate.Release();
        }
    }
}
