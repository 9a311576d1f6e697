using MongoDB.Bson;
using MongoDB.Driver;
using Nv.Audit.Merkle;

namespace Nv.Audit.Mongo;

/// <summary>Which key, if any, this process signs the shared trail's checkpoints with, and which public keys verify them.</summary>
/// <remarks>
/// The MongoDB trail is shared by every process that opens it (each host, the CLI on a bastion host), but a signing key
/// lives in one process's environment or data directory, and a checkpoint is insert-only: one signed with a key the others
/// do not know stays in <c>audit_checkpoints</c>, and their verification names it for ever. So the public keys that sign are
/// listed in the audit database (<c>audit_signing_keys</c>, inserted before a key first signs), every process verifies with
/// them (plus the key it was given and <see cref="AuditOptions.PreviousPublicKeysPath"/>), and a process signs only with:
/// <list type="bullet">
/// <item>a listed key;</item>
/// <item>a key it was given explicitly (<c>NV_AUDIT_SIGNING_KEY</c>, <see cref="AuditOptions.SigningKeyPath"/>), which it then
/// lists: a host changing its key. Not a tool (<see cref="AuditOptions.SignWithHostKeyOnly"/>,
/// <see cref="AuditOptions.SignWithHostKeyIfAvailable"/>), which must use a listed key;</item>
/// <item>while the store lists no key yet: the key of the newest stored checkpoint (a trail signed before the list existed,
/// whichever way the key came), or any key when no checkpoint is stored, a host then generating one into its data directory
/// when it has none (the first start of a new trail; a tool generates none).</item>
/// </list>
/// Otherwise it signs nothing: it proves against stored checkpoints, <see cref="CheckpointAsync"/> throws
/// <see cref="AuditSigningKeyException"/> (a <see cref="AuditOptions.SignWithHostKeyOnly"/> tool's opening fails with it at
/// once), and a host or a <see cref="AuditOptions.SignWithHostKeyIfAvailable"/> tool logs a warning once and keeps appending. A read-only opening (<see cref="AuditOptions.ReadOnly"/>) never signs, lists or generates a key.
/// </remarks>
internal sealed partial class MongoAuditSink
{
    // Caller holds the Merkle gate, during setup. Returns null when this process signs nothing (merkle.Refusal says why).
    private async Task<CheckpointSigner?> ResolveSignerAsync(MongoMerkleState merkle, CancellationToken cancellationToken)
    {
        var listed = await ListedKeysAsync(merkle, cancellationToken);
        var newest = await NewestCheckpointKeyIdAsync(merkle, cancellationToken);
        var given = AuditSigningKey.ResolveGiven(_options, _logger);
        var signer = given ?? AuditSigningKey.ResolveInDataDirectory(_options, _logger);
        try
        {
            string? refusal = null;
            if (signer is null)
            {
                if (_options.SignWithHostKeyOnly)
                {
                    throw AuditSigningKey.Missing(AuditSigningKey.GeneratedPath(_options));
                }

                if (listed.Count == 0 && newest is null && !_options.SignWithHostKeyIfAvailable)
                {
                    signer = AuditSigningKey.Generate(_options, _logger); // the first start of a new trail
                }
                else if (listed.Count == 0 && newest is null)
                {
                    refusal = $"this process has no signing key ({AuditSigningKey.EnvironmentVariable} and Nv:Audit:SigningKeyPath are not set, "
                        + $"{AuditSigningKey.GeneratedPath(_options)} does not exist) and only a host generates one";
                }
                else
                {
                    refusal = $"this process has no signing key ({AuditSigningKey.EnvironmentVariable} and Nv:Audit:SigningKeyPath are not set, "
                        + $"{AuditSigningKey.GeneratedPath(_options)} does not exist) and generates none for a trail signed with {Keys(listed, newest)}";
                }
            }
            else if (!listed.ContainsKey(signer.KeyId))
            {
                var trailsOwnKey = listed.Count == 0 && (newest is null || newest == signer.KeyId);
                var hostChangingKey = given is not null && !_options.SignWithHostKeyOnly && !_options.SignWithHostKeyIfAvailable;
                if (!trailsOwnKey && !hostChangingKey)
                {
                    refusal = $"this process's signing key {signer.KeyId} ({(given is null ? AuditSigningKey.GeneratedPath(_options) : "given")}) is not "
                        + $"among the keys that sign the trail ({Keys(listed, newest)})";
                }
            }

            if (refusal is not null)
            {
                if (_options.SignWithHostKeyOnly)
                {
                    throw new AuditSigningKeyException(refusal + $": set {AuditSigningKey.EnvironmentVariable} or Nv:Audit:SigningKeyPath to the "
                        + "host's key, as the host does", signer?.KeyId);
                }

                merkle.Refusal = refusal + $": set {AuditSigningKey.EnvironmentVariable} or Nv:Audit:SigningKeyPath to a signing host's key "
                    + "(a host given a new key explicitly lists it)";
                Log.MongoSigningRefused(_logger, merkle.Refusal);
                signer?.Dispose();
                return null;
            }

            if (!listed.ContainsKey(signer!.KeyId))
            {
                await RegisterAsync(merkle, signer, cancellationToken);
            }

            return signer;
        }
        catch
        {
            signer?.Dispose();
            throw;
        }
    }

    private static string Keys(Dictionary<string, string> listed, string? newest) =>
        listed.Count > 0 ? $"key {string.Join(", ", listed.Keys)} in {MongoMerkleDocuments.SigningKeys}" : $"key {newest} (its newest checkpoint)";

    // The listed keys by id (documents that are not a key whose id is theirs vouch for nothing and are left out).
    private static async Task<Dictionary<string, string>> ListedKeysAsync(MongoMerkleState merkle, CancellationToken cancellationToken)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        using var cursor = await merkle.SigningKeys!.FindAsync(FilterDefinition<BsonDocument>.Empty, cancellationToken: cancellationToken);
        while (await cursor.MoveNextAsync(cancellationToken))
        {
            foreach (var document in cursor.Current)
            {
                if (MongoMerkleDocuments.ReadSigningKey(document) is { } key)
                {
                    keys[key.KeyId] = key.PublicKeyPem;
                }
            }
        }

        return keys;
    }

    // The key id of the newest checkpoint stored, of any chain; null when none is stored ("?" when it does not parse: a
    // damaged checkpoint is verification's to report, and it is no key this process may take as the trail's).
    private static async Task<string?> NewestCheckpointKeyIdAsync(MongoMerkleState merkle, CancellationToken cancellationToken)
    {
        var newest = await merkle.Checkpoints!.Find(FilterDefinition<BsonDocument>.Empty).Sort(new BsonDocument("created", -1)).Limit(1)
            .FirstOrDefaultAsync(cancellationToken);
        if (newest is null)
        {
            return null;
        }

        try
        {
            return MongoMerkleDocuments.ReadCheckpoint(newest).Signed.Checkpoint.KeyId;
        }
        catch (Exception ex) when (ex is CheckpointFormatException or FormatException)
        {
            return "?";
        }
    }

    // Idempotent by key id: another process listing the same key first is the same outcome.
    private static async Task RegisterAsync(MongoMerkleState merkle, CheckpointSigner signer, CancellationToken cancellationToken)
    {
        try
        {
            await merkle.SigningKeys!.InsertOneAsync(MongoMerkleDocuments.SigningKey(signer, DateTimeOffset.UtcNow), cancellationToken: cancellationToken);
        }
        catch (MongoWriteException ex) when (ex.WriteError?.Category == ServerErrorCategory.DuplicateKey)
        {
            // Listed already.
        }
    }

    /// <summary>The public keys this process's verification trusts: the key it signs with or was given, every listed key,
    /// and <see cref="AuditOptions.PreviousPublicKeysPath"/>; empty when there are none.</summary>
    public async Task<string> GetTrustedPublicKeysPemAsync(CancellationToken cancellationToken = default)
    {
        var merkle = await MerkleAsync(cancellationToken);
        var own = merkle.Signer?.PublicKeyPem ?? AuditSigningKey.ResolvePublicKeyPem(_options);
        var listed = await ListedKeysAsync(merkle, cancellationToken);
        return CheckpointKeys.Trusted(string.Join("\n", listed.Values.Prepend(own ?? string.Empty).Where(static k => k.Length > 0)), _options.PreviousPublicKeysPath);
    }

    public async Task<string> GetPublicKeyPemAsync(CancellationToken cancellationToken = default)
    {
        var merkle = await MerkleAsync(cancellationToken);
        if (merkle.Signer is { } signer)
        {
            return signer.PublicKeyPem;
        }

        // A process refused its key signs nothing: whatever key it holds is not the trail's (AuditSigningKeyException, so the
        // host records the trail's key as unchanged instead of this one).
        return merkle.Refusal is { } why
            ? throw new AuditSigningKeyException($"This process signs no audit checkpoint: {why}; the keys that sign the trail are in {MongoMerkleDocuments.SigningKeys}.")
            : AuditSigningKey.ResolvePublicKeyPem(_options) ?? throw new InvalidOperationException(
                $"This process signs no audit checkpoint (the store is open read-only); the keys that sign the trail are in {MongoMerkleDocuments.SigningKeys}.");
    }

    // Why a checkpoint cannot be signed here: a refused key is the tool's configuration (exit 2), read-only is misuse.
    private Exception CannotSign(MongoMerkleState merkle) => merkle.Refusal is { } why
        ? new AuditSigningKeyException("No audit checkpoint signed: " + why)
        : new InvalidOperationException($"The audit store {Location} is open read-only: it signs no checkpoint.");
}
