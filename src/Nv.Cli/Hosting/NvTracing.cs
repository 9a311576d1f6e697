using Microsoft.Extensions.Configuration;
using Nv.Host.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nv.Cli.Hosting;

/// <summary>Trace export for <c>nv serve</c>, from <c>Nv:Telemetry</c>: <c>Console=true</c> prints every span of the
/// <c>Nv</c> activity source on stdout; <c>Otlp:Endpoint=http://host:4317</c> (with <c>Otlp:Protocol=grpc|http</c>, default
/// grpc) sends them over OTLP. Neither set: no tracer is registered and the write path pays nothing for traces.</summary>
internal static class NvTracing
{
    public const string SectionName = "Nv:Telemetry";

    public static void Add(IOpenTelemetryBuilder telemetry, IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var console = IsTrue(section["Console"]);
        var endpoint = section["Otlp:Endpoint"];
        if (!console && string.IsNullOrEmpty(endpoint))
        {
            return;
        }

        telemetry
            .ConfigureResource(r => r.AddService(configuration["Nv:Pipeline:Service"] ?? "nv"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(NvTelemetry.ActivitySourceName);
                if (console)
                {
                    tracing.AddConsoleExporter();
                }

                if (!string.IsNullOrEmpty(endpoint) && Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
                {
                    tracing.AddOtlpExporter(o =>
                    {
                        o.Endpoint = uri;
                        o.Protocol = IsHttp(section["Otlp:Protocol"]) ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    });
                }
            });
    }

    /// <summary>Why the telemetry settings are unusable, or null.</summary>
    public static string? Check(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        if (section["Console"] is { Length: > 0 } console && !bool.TryParse(console, out _))
        {
            return $"{SectionName}:Console must be true or false, not '{console}'.";
        }

        if (section["Otlp:Endpoint"] is { Length: > 0 } endpoint
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            return $"{SectionName}:Otlp:Endpoint must be an absolute http(s) URL such as http://127.0.0.1:4317, not '{endpoint}'.";
        }

        if (section["Otlp:Protocol"] is { Length: > 0 } protocol && protocol is not ("grpc" or "http"))
        {
            return $"{SectionName}:Otlp:Protocol must be grpc or http, not '{protocol}'.";
        }

        return null;
    }

    private static bool IsTrue(string? value) => bool.TryParse(value, out var b) && b;

    private static bool IsHttp(string? protocol) => string.Equals(protocol, "http", StringComparison.Ordinal);
}
