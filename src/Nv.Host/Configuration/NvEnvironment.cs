using Microsoft.Extensions.Configuration;

namespace Nv.Host.Configuration;

/// <summary>Maps Nv's documented environment variables onto configuration keys (they override appsettings.json).</summary>
/// <remarks>
/// <c>NV_DATA_DIR</c> (default <c>./data</c>) holds the SQLite files, logs and, unless <c>NV_WAL_DIR</c> says otherwise,
/// the WAL (<c>{NV_DATA_DIR}/wal</c>). <c>NV_ENV</c> and <c>NV_SERVICE</c> name the environment and service (replay keys,
/// audit chain). <c>NV_MONGO_URI</c>/<c>NV_MONGO_DB</c> select MongoDB (<c>NV_MONGO_AUDIT_DB</c>, default
/// <c>{NV_MONGO_DB}_audit</c>, holds the audit trail). <c>NV_URLS</c> sets the HTTP listen addresses.
/// <c>NV_API_KEYS_FILE</c>/<c>NV_API_KEYS</c> configure API keys (none: authentication off, loopback only);
/// <c>NV_MAX_BODY_BYTES</c> caps request bodies. <c>NV_MASTER_KEY_FILE</c> turns encryption at rest on.
/// </remarks>
public static class NvEnvironment
{
    /// <summary>The HTTP listen address when <c>NV_URLS</c> is unset: loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>Adds the <c>NV_*</c> environment variables as configuration keys over <paramref name="current"/> (the configuration built so far, for defaults).</summary>
    public static IConfigurationBuilder AddNvEnvironment(this IConfigurationBuilder builder, IConfiguration current)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var dataDir = Env("NV_DATA_DIR") ?? current["Nv:DataDirectory"] ?? "data";
        values["Nv:DataDirectory"] = dataDir;
        values["Nv:DbWriter:DataDirectory"] = current["Nv:DbWriter:DataDirectory"] is { } dbDir && Env("NV_DATA_DIR") is null ? dbDir : dataDir;
        values["Nv:Audit:DataDirectory"] = current["Nv:Audit:DataDirectory"] is { } auditDir && Env("NV_DATA_DIR") is null ? auditDir : dataDir;
        values["Nv:Wal:Directory"] = Env("NV_WAL_DIR") ?? current["Nv:Wal:Directory"] ?? Path.Combine(dataDir, "wal");
        Map(values, "NV_ENV", "Nv:Pipeline:Environment");
        Map(values, "NV_SERVICE", "Nv:Pipeline:Service");
        Map(values, "NV_MONGO_URI", "Nv:DbWriter:MongoUri");
        Map(values, "NV_MONGO_URI", "Nv:Audit:MongoUri");
        Map(values, "NV_MONGO_DB", "Nv:DbWriter:MongoDatabase");
        // The audit trail keeps a database of its own (so a role can make it insert-only): NV_MONGO_AUDIT_DB, else the
        // entity database's name plus "_audit", else the default (nv_audit).
        if (Env("NV_MONGO_AUDIT_DB") is { } auditDb)
        {
            values["Nv:Audit:MongoDatabase"] = auditDb;
        }
        else if (Env("NV_MONGO_DB") is { } entityDb)
        {
            values["Nv:Audit:MongoDatabase"] = entityDb + "_audit";
        }
        Map(values, "NV_API_KEYS_FILE", "Nv:Auth:KeysFile");
        Map(values, "NV_API_KEYS", "Nv:Auth:Keys");
        Map(values, "NV_MAX_BODY_BYTES", "Nv:Http:MaxRequestBodyBytes");
        Map(values, "NV_MASTER_KEY_FILE", "Nv:Encryption:MasterKeyFile");
        values["urls"] = Env("NV_URLS") ?? current["urls"] ?? DefaultUrls;
        return builder.AddInMemoryCollection(values);
    }

    private static void Map(Dictionary<string, string?> values, string variable, string key)
    {
        if (Env(variable) is { } value)
        {
            values[key] = value;
        }
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
