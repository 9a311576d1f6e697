using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nv.Cli.Hosting;
using Nv.DbWriter;
using Nv.Host.Protection;
using Nv.Wal;
using Nv.Wal.Protection;

namespace Nv.Cli.Commands;

/// <summary>Encryption at rest: <c>nv keys new-master --out FILE</c> writes a new master key file; <c>nv keys
/// rotate-master --new FILE</c> re-wraps every data key with it (payloads untouched); <c>nv keys stat</c> prints the key
/// counts, the erased subjects and the master key id.</summary>
internal static class MasterKeyCommands
{
    public static Command NewMaster()
    {
        var output = new Option<string>("--out") { Description = "The file to create (never overwritten; mode 0600).", Required = true };
        var command = new Command("new-master", "Write a new master key file: 32 random bytes, base64 (use it as NV_MASTER_KEY_FILE).") { output };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(output);
            if (string.IsNullOrWhiteSpace(path))
            {
                Console.Error.WriteLine("nv: error: --out must name the master key file to create");
                return ExitCodes.Usage;
            }

            try
            {
                var id = FileMasterKeyProvider.CreateKeyFile(path);
                Console.WriteLine(id);
                Console.Error.WriteLine($"nv: wrote master key {id} to {path}; keep a copy apart from the data directory and its backups");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine("nv: error: " + ex.Message.ReplaceLineEndings(" "));
                return ExitCodes.Usage;
            }
        });
        return command;
    }

    public static Command RotateMaster()
    {
        var next = new Option<string>("--new") { Description = "The new master key file (from nv keys new-master).", Required = true };
        var command = new Command("rotate-master",
            "Re-wrap every data key with a new master key (NV_MASTER_KEY_FILE holds the current one); payloads are not touched. "
            + "Run while the host is stopped; rerun after an interruption. Then set NV_MASTER_KEY_FILE to the new file.") { next };
        command.SetAction((parse, ct) => RotateAsync(parse.GetValue(next)!, ct));
        return command;
    }

    public static Command Stat()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var limit = new Option<int>("--erasures") { Description = "How many recent erasures to list.", DefaultValueFactory = _ => 20 };
        var command = new Command("stat", "Data key counts, erased subjects and the master key id (reads the key store; may run beside a live host).") { json, limit };
        command.SetAction((parse, ct) => StatAsync(parse.GetValue(json), Math.Max(1, parse.GetValue(limit)), ct));
        return command;
    }

    private static async Task<int> RotateAsync(string nextFile, CancellationToken cancellationToken)
    {
        try
        {
            var host = NvHostFactory.CreateHost([]);
            await using var scope = (IAsyncDisposable)host;
            ExistingData.RequireDatabase(host.Services);
            // The WAL's lock is the proof no host runs (below): a mistyped NV_WAL_DIR must not create a fresh WAL whose lock
            // nobody else holds.
            ExistingData.RequireWal(host.Services);
            var options = host.Services.GetRequiredService<IOptions<EncryptionOptions>>().Value;
            if (string.IsNullOrWhiteSpace(options.MasterKeyFile))
            {
                Console.Error.WriteLine("nv: error: NV_MASTER_KEY_FILE must name the current master key file");
                return ExitCodes.Usage;
            }

            using var current = FileMasterKeyProvider.Open(options.MasterKeyFile);
            using var replacement = FileMasterKeyProvider.Open(nextFile);
            if (current.KeyId == replacement.KeyId)
            {
                Console.Error.WriteLine($"nv: error: {nextFile} holds the current master key {current.KeyId}");
                return ExitCodes.Usage;
            }

            // The WAL's directory lock proves no host is running (it holds the lock), so no key is created meanwhile. The
            // lock alone: opening the log read-write for it appended a close commit (and repaired what recovery repairs).
            using var walLock = WalDirectoryLock.Acquire(host.Services.GetRequiredService<IOptions<WalOptions>>().Value.Directory);
            var store = await OpenStoreAsync(host.Services, cancellationToken);
            var done = await store.RewrapKeysAsync(current.KeyId, replacement.KeyId, key =>
            {
                var material = current.Unwrap(key.MasterKeyId, key.KeyId, key.WrappedKey);
                try
                {
                    return replacement.Wrap(key.KeyId, material);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(material);
                }
            }, n => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"nv: {n} data keys re-wrapped")), cancellationToken);
            var stats = await store.GetKeyStatisticsAsync(cancellationToken);
            var left = stats.KeysByMasterKey.Where(p => p.Key != replacement.KeyId).Sum(p => p.Value);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rotated: {done} data keys re-wrapped from {current.KeyId} to {replacement.KeyId}; {left} wrapped by another key. Now set NV_MASTER_KEY_FILE={nextFile}."));
            return left == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            return Report(ex);
        }
    }

    private static async Task<int> StatAsync(bool json, int erasures, CancellationToken cancellationToken)
    {
        try
        {
            // Only reads, beside a live host too: the key store opened read-only (no schema transaction or migration, no
            // checkpointer), and no logs/ file.
            var host = NvHostFactory.CreateHost([], NvHostFactory.ReadOnlyStoresBesideHost, fileLog: false);
            await using var scope = (IAsyncDisposable)host;
            ExistingData.RequireDatabase(host.Services);
            var options = host.Services.GetRequiredService<IOptions<EncryptionOptions>>().Value;
            string? master = null;
            if (!string.IsNullOrWhiteSpace(options.MasterKeyFile))
            {
                using var provider = FileMasterKeyProvider.Open(options.MasterKeyFile);
                master = provider.KeyId;
            }

            var store = await OpenStoreAsync(host.Services, cancellationToken);
            var stats = await store.GetKeyStatisticsAsync(cancellationToken);
            var recent = await store.GetErasuresAsync(erasures, cancellationToken);
            if (json)
            {
                CliJson.Write(new
                {
                    encryption = master is not null,
                    masterKeyId = master,
                    assignedKeys = stats.AssignedKeys,
                    poolKeys = stats.PoolKeys,
                    subjects = stats.Subjects,
                    erasures = stats.Erasures,
                    keysByMasterKey = stats.KeysByMasterKey,
                    recentErasures = recent.Select(e => new
                    {
                        subject = e.Subject, lsn = e.Lsn.Value, walId = e.WalId, requestId = e.RequestId, erasedAt = e.ErasedAt,
                        keysDestroyed = e.KeysDestroyed, entitiesDeleted = e.EntitiesDeleted,
                    }),
                });
                return ExitCodes.Ok;
            }

            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"encryption at rest:  {(master is null ? "off (NV_MASTER_KEY_FILE unset)" : "on, master key " + master)}");
            Console.WriteLine(string.Create(inv, $"data keys:           {stats.AssignedKeys} assigned to {stats.Subjects} subjects, {stats.PoolKeys} created ahead of use"));
            foreach (var (id, count) in stats.KeysByMasterKey)
            {
                Console.WriteLine(string.Create(inv, $"  wrapped by {id}: {count}{(master is not null && id != master ? "  (not the configured master key)" : "")}"));
            }

            Console.WriteLine(string.Create(inv, $"erased subjects:     {stats.Erasures}"));
            foreach (var e in recent)
            {
                Console.WriteLine(string.Create(inv,
                    $"  {e.ErasedAt.UtcDateTime:O}  lsn {e.Lsn.Value}  {e.Subject}  ({e.KeysDestroyed} keys destroyed, {e.EntitiesDeleted} entities deleted, request {e.RequestId})"));
            }

            return ExitCodes.Ok;
        }
        catch (Exception ex)
        {
            return Report(ex);
        }
    }

    internal static async Task<IDataKeyStore> OpenStoreAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var writer = services.GetRequiredService<IDbWriter>();
        await writer.InitializeAsync(cancellationToken);
        return writer as IDataKeyStore ?? throw new InvalidOperationException("The configured database writer keeps no data keys.");
    }

    private static int Report(Exception ex) => CommandErrors.Report(ex);
}
