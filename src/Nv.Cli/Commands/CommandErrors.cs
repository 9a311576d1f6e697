using Microsoft.Extensions.Options;
using Nv.Wal;

namespace Nv.Cli.Commands;

/// <summary>Turns a failure into one line on stderr and a documented exit code.</summary>
internal static class CommandErrors
{
    public static int ExitCodeFor(Exception ex) => Unwrap(ex) switch
    {
        WalCorruptionException => ExitCodes.WalCorrupt,
        WalFaultedException => ExitCodes.WalFaulted,
        OptionsValidationException => ExitCodes.Usage,
        NoDataException => ExitCodes.Usage,
        BadInputException => ExitCodes.Usage,
        WalConfigurationException => ExitCodes.Usage,
        WalFormatTooNewException => ExitCodes.Usage, // run the Nv that wrote it: nothing was read past it or written
        Nv.Wal.Protection.MasterKeyException => ExitCodes.Usage,
        Nv.Audit.AuditSigningKeyException => ExitCodes.Usage,
        StoreSchemaException => ExitCodes.Usage,
        Nv.Host.Replay.StoreWalMismatchException => ExitCodes.StoreWalMismatch,
        _ => ExitCodes.Failed,
    };

    public static int Report(Exception ex)
    {
        var inner = Unwrap(ex);
        Console.Error.WriteLine("nv: error: " + inner.Message.ReplaceLineEndings(" "));
        return ExitCodeFor(inner);
    }

    private static Exception Unwrap(Exception ex)
    {
        while (ex is AggregateException { InnerException: { } inner })
        {
            ex = inner;
        }

        return ex is InvalidOperationException { InnerException: NvException nv } ? nv : ex;
    }
}
