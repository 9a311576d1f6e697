namespace Nv.Cli.Commands;

/// <summary>A command that reads stored data found none where the configuration points (exit code 2, nothing written).</summary>
internal sealed class NoDataException(string message) : Exception(message);
