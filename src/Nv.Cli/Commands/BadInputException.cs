namespace Nv.Cli.Commands;

/// <summary>A file, key, cursor or path given to a command is unusable; found before anything was opened (exit code 2,
/// nothing written).</summary>
internal sealed class BadInputException(string message) : Exception(message);
