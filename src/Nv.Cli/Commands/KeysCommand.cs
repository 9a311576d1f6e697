using System.CommandLine;
using Nv.Host.Http.Auth;

namespace Nv.Cli.Commands;

/// <summary><c>nv keys hash &lt;key&gt;</c>: print the SHA-256 to put in <c>NV_API_KEYS</c> or the key file (the key itself is never
/// stored); <c>nv keys new-master|rotate-master|stat</c>: encryption at rest (<see cref="MasterKeyCommands"/>).</summary>
internal static class KeysCommand
{
    public static void AddTo(RootCommand root)
    {
        var key = new Argument<string>("key") { Description = "The API key secret ('-' reads it from stdin)." };
        var hash = new Command("hash", "Print the lowercase hex SHA-256 of an API key, for NV_API_KEYS / NV_API_KEYS_FILE.") { key };
        hash.SetAction(parse =>
        {
            var secret = parse.GetValue(key)!;
            if (secret == "-")
            {
                secret = Console.In.ReadLine() ?? "";
            }

            if (secret.Length == 0)
            {
                Console.Error.WriteLine("nv: error: the key is empty");
                return ExitCodes.Usage;
            }

            Console.WriteLine(ApiKeyHash.Of(secret));
            return ExitCodes.Ok;
        });
        var keys = new Command("keys", "API key helpers, and the master and data keys of encryption at rest.")
        {
            hash, MasterKeyCommands.NewMaster(), MasterKeyCommands.RotateMaster(), MasterKeyCommands.Stat(),
        };
        root.Subcommands.Add(keys);
    }
}
