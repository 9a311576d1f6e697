using System.Reflection;
using System.Security.Cryptography;

namespace Nv.Host.Http.Ui;

/// <summary>The audit explorer's static files, embedded in this assembly (<c>Http/Ui/wwwroot/**</c>, logical names
/// <c>nv-ui/&lt;path&gt;</c>) and read once.</summary>
/// <remarks>Only embedded files can be served: the path is a dictionary key, never a file-system path, so there is no
/// traversal to guard against. Nothing is built at run time (no Node step): the files are plain ES modules and CSS.</remarks>
internal static class UiAssets
{
    public const string ResourcePrefix = "nv-ui/";

    private static readonly Lazy<IReadOnlyDictionary<string, UiAsset>> All = new(Load);

    /// <summary>Every asset by its path under <c>/ui/</c> (e.g. <c>js/app.js</c>).</summary>
    public static IReadOnlyDictionary<string, UiAsset> ByPath => All.Value;

    public static UiAsset? Find(string path) => ByPath.GetValueOrDefault(path);

    private static Dictionary<string, UiAsset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var assets = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            // RecursiveDir uses the build machine's separator; paths in URLs use '/'.
            var normalized = name.Replace('\\', '/');
            if (!normalized.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var path = normalized[ResourcePrefix.Length..];
            var content = Read(assembly, name);
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content))[..16] + "\"";
            assets[path] = new UiAsset(path, content, ContentTypeOf(path), etag);
        }

        return assets;
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource '{name}' is listed but cannot be opened.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".json" => "application/json; charset=utf-8",
        _ => "application/octet-stream",
    };
}
