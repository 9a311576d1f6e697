namespace Nv;

/// <summary>A store opened read-only (<c>DbWriterOptions.ReadOnly</c>, <c>AuditOptions.ReadOnly</c>) has another schema version
/// than this build reads: an older one that a read-write open would migrate first, or a newer one another build wrote.</summary>
/// <remarks>Never transient. A read-only open migrates nothing, so the store is as it was; the CLI exits 2 with this message:
/// the host (or <c>nv replay</c>) of this build migrates an older store once, then the read runs. In the root namespace
/// <c>Nv</c> beside <see cref="NvException"/>, for the same reason: every store library depends on this assembly.</remarks>
public sealed class StoreSchemaException : NvException
{
    /// <summary>Creates the exception; its message names the store and both versions, and says what to do.</summary>
    /// <param name="store">What the store is, e.g. "audit store" or "database".</param>
    /// <param name="path">The store (a file path).</param>
    /// <param name="version">The schema version the store has.</param>
    /// <param name="readableVersion">The one version this build's read-only open reads.</param>
    public StoreSchemaException(string store, string path, long version, long readableVersion)
        : base(Describe(store, path, version, readableVersion))
    {
        Path = path;
        Version = version;
        ReadableVersion = readableVersion;
    }

    /// <summary>The store (a file path).</summary>
    public string Path { get; }

    /// <summary>The schema version the store has.</summary>
    public long Version { get; }

    /// <summary>The one version this build's read-only open reads.</summary>
    public long ReadableVersion { get; }

    /// <inheritdoc />
    public override bool IsTransient => false;

    private static string Describe(string store, string path, long version, long readableVersion) =>
        version < readableVersion
            ? $"The {store} {path} has schema version {version}, older than this build's {readableVersion}, and a read-only open "
                + "migrates nothing: start the host (nv serve) or run nv replay once with this build to migrate it, then run this again"
            : $"The {store} {path} has schema version {version}, which this build (version {readableVersion}) cannot read: use the "
                + "Nv build that wrote it";
}
