using System.Text.Json;

namespace Nv.DbWriter.Sqlite;

internal sealed partial class SqliteDbWriter
{
    /// <summary>SQLite stores the payload as JSON text, numbers and nesting as they are; its only limit (a value of up to
    /// 1,000,000,000 bytes) is far above the pipeline's largest payload (16 MiB), so every validated payload is storable.</summary>
    public DbWriterRefusal? CheckStorable(string dtoType, JsonElement payload) => null;
}
