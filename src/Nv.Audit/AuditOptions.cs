namespace Nv.Audit;

/// <summary>Configuration of the audit trail (section <c>Nv:Audit</c>).</summary>
public sealed class AuditOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Nv:Audit";

    /// <summary>Directory of the embedded SQLite audit database (<c>NV_DATA_DIR</c>).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>SQLite audit file name inside <see cref="DataDirectory"/> (kept apart from the entity store).</summary>
    public string SqliteFileName { get; set; } = "audit.db";

    /// <summary>Largest number of entries written in one batch.</summary>
    public int MaxBatchSize { get; set; } = 512;
}
