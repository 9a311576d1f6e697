namespace Nv.DbWriter;

/// <summary>Configuration of the database writer (section <c>Nv:DbWriter</c>).</summary>
/// <remarks>No <see cref="MongoUri"/> (<c>NV_MONGO_URI</c>) selects the embedded SQLite store under <see cref="DataDirectory"/>.</remarks>
public sealed class DbWriterOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:DbWriter";

    /// <summary>Directory of the embedded SQLite database (<c>NV_DATA_DIR</c>).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>SQLite file name inside <see cref="DataDirectory"/>.</summary>
    public string SqliteFileName { get; set; } = "nv.db";

    /// <summary>MongoDB connection string (<c>NV_MONGO_URI</c>); null or empty selects SQLite.</summary>
    public string? MongoUri { get; set; }

    /// <summary>MongoDB database name (<c>NV_MONGO_DB</c>).</summary>
    public string MongoDatabase { get; set; } = "nv";

    /// <summary>How long startup waits for the MongoDB server before failing.</summary>
    public TimeSpan MongoConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
