using System.Text.Encodings.Web;
using System.Text.Json;

namespace Nv.Cli.Commands;

/// <summary>JSON output of the CLI (<c>--json</c>): camelCase, one line per document, same shapes as the HTTP API.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Options));
}
