using Microsoft.Extensions.Logging;
using Nv.Audit;

namespace Nv.Host.Pipeline;

/// <summary>The entries Nv writes about itself: <c>system-events</c> (boot replay finished, the WAL faulted or its tail was
/// cut, WAL truncation, a stage or store stopped) and, at start, <c>environment-change</c> and <c>service-start</c>.</summary>
/// <remarks>Like every system entry they go through <see cref="RecordSystemAsync"/>: made durable at once, or parked on
/// disk for the next backfill; an audit failure never fails what Nv was doing.</remarks>
internal sealed partial class AuditCoordinator
{
    /// <summary>Records a system entry without waiting for it (from a stage loop or a fault handler that must not block on the
    /// audit store); <see cref="DrainSystemEntriesAsync"/> waits for the ones still running.</summary>
    public void RecordSystemInBackground(AuditEntry entry)
    {
        lock (_background)
        {
            _background.RemoveAll(static t => t.IsCompleted);
            _background.Add(Task.Run(() => RecordSystemAsync(entry, CancellationToken.None)));
        }
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) for system entries recorded in the background.</summary>
    public async Task DrainSystemEntriesAsync(TimeSpan timeout)
    {
        Task[] running;
        lock (_background)
        {
            running = [.. _background];
            _background.Clear();
        }

        if (running.Length > 0)
        {
            await Task.WhenAll(running).WaitAsync(timeout).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>At start: an <c>environment-change</c> entry when this run's values differ from the last run's (the values
    /// the store kept from the last start, or, for a store that keeps none, the newest <c>service-start</c> entry of any
    /// chain; the first start records its values too), then this run's <c>service-start</c> entry, which carries them too,
    /// and the values kept for the next start. Never throws for audit failures.</summary>
    public async Task RecordStartAsync(string service, IReadOnlyDictionary<string, string> current, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<string, string>? previous = null;
        var known = true;
        try
        {
            previous = await PreviousEnvironmentAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store is failing: the comparison is skipped (the service-start entry is parked and stored later).
            known = false;
            Log.EnvironmentCheckFailed(_logger, ex);
        }

        if (known && (previous is null || !Same(previous, current)))
        {
            await RecordSystemAsync(AuditEntryFactory.EnvironmentChanged(service, previous, current), cancellationToken);
        }

        await RecordSystemAsync(AuditEntryFactory.ServiceStarted(service, metadata: current), cancellationToken);
        try
        {
            await _sink.SetRunEnvironmentAsync(current, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.EnvironmentCheckFailed(_logger, ex);
        }
    }

    // The last run's values: as the store kept them, else the newest service-start entry's metadata (of any chain).
    private async Task<IReadOnlyDictionary<string, string>?> PreviousEnvironmentAsync(CancellationToken cancellationToken)
    {
        if (await _sink.GetRunEnvironmentAsync(cancellationToken) is { } kept)
        {
            return kept;
        }

        var page = await _sink.QueryAsync(new AuditQuery
        {
            Category = AuditCategory.ServiceStartStop,
            Operation = AuditEntryFactory.ServiceStartOperation,
            Limit = 1,
        }, cancellationToken);
        return page.Entries.Count > 0 ? page.Entries[0].Metadata : null;
    }

    /// <summary>What the audit store is, for the environment: <c>sqlite</c>, <c>mongo</c> or the sink's type name.</summary>
    public string SinkKind => KindOf(_sink.GetType().Name);

    /// <summary>The name of the signing key id among a run's environment values (<c>audit_environment</c>, the
    /// <c>service-start</c> entry's metadata).</summary>
    public const string SigningKeyIdName = "signingKeyId";

    /// <summary>The id of the key that signs this store's checkpoints, or null when the store signs none (or cannot say).
    /// When this process signs none because it does not have the host's key (<see cref="AuditSigningKeyException"/>: a
    /// tool such as <c>nv erase</c> in a shell without it), the id the last run recorded: the key that signs the store did
    /// not change, and recording none would write an <c>environment-change</c> entry saying it did.</summary>
    public async Task<string?> SigningKeyIdAsync(CancellationToken cancellationToken)
    {
        if (_sink is not IAuditProofs proofs)
        {
            return null;
        }

        try
        {
            using var verifier = Nv.Audit.Merkle.CheckpointVerifier.FromPublicKeyPem(await proofs.GetPublicKeyPemAsync(cancellationToken));
            return verifier.KeyId;
        }
        catch (AuditSigningKeyException)
        {
            try
            {
                return (await PreviousEnvironmentAsync(cancellationToken))?.GetValueOrDefault(SigningKeyIdName);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                Log.EnvironmentCheckFailed(_logger, ex);
                return null;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            Log.EnvironmentCheckFailed(_logger, ex);
            return null;
        }
    }

    internal static string KindOf(string typeName) =>
        typeName.Contains("Mongo", StringComparison.Ordinal) ? "mongo"
        : typeName.Contains("Sqlite", StringComparison.Ordinal) ? "sqlite"
        : typeName;

    private static bool Same(IReadOnlyDictionary<string, string> previous, IReadOnlyDictionary<string, string> current) =>
        previous.Count == current.Count
        && current.All(pair => previous.TryGetValue(pair.Key, out var value) && string.Equals(value, pair.Value, StringComparison.Ordinal));
}
