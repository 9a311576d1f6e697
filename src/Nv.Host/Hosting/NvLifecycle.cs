using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nv.Audit;
using Nv.DbWriter;
using Nv.Host.Pipeline;
using Nv.Host.Replay;
using Nv.Wal;

namespace Nv.Host.Hosting;

/// <summary>Start order: open the WAL (recovery, on first resolve) → initialise stores → boot replay + audit backfill →
/// system-events entries (a cut WAL tail, replay's counts), environment-change (what differs from the last run) and
/// service-start audit entries → accept writes. Stop: drain the pipeline → service-stop entry → signed audit checkpoints → persist watermarks.</summary>
/// <remarks>Replay runs in <see cref="ExecuteAsync"/>, so the host (and its health endpoint) is up while it runs;
/// <see cref="IsReady"/> stays false until it completes. A failure during start stops the host with a non-zero exit.</remarks>
internal sealed partial class NvLifecycle : BackgroundService
{
    private readonly IWriteAheadLog _wal;
    private readonly IDbWriter _db;
    private readonly AuditCoordinator _audit;
    private readonly BootReplayer _replayer;
    private readonly WritePipeline _pipeline;
    private readonly Protection.KeyRing _keys;
    private readonly PipelineOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly Diagnostics.HostMetrics? _metrics;
    private readonly TaskCompletionSource<ReplaySummary> _replayed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stopGate = new();
    private Task? _stopped;
    private readonly string? _readOnlySetting; // a read-only open configured for a host, which writes: refused at start

    public NvLifecycle(
        IWriteAheadLog wal,
        IDbWriter db,
        AuditCoordinator audit,
        BootReplayer replayer,
        WritePipeline pipeline,
        IOptions<PipelineOptions> options,
        IHostApplicationLifetime lifetime,
        ILogger<NvLifecycle> logger,
        Protection.KeyRing keys,
        Diagnostics.HostMetrics? metrics = null,
        IOptions<AuditOptions>? auditOptions = null,
        IOptions<DbWriterOptions>? dbOptions = null,
        IOptions<WalOptions>? walOptions = null)
    {
        _readOnlySetting = auditOptions?.Value.ReadOnly == true ? "Nv:Audit:ReadOnly"
            : dbOptions?.Value.ReadOnly == true ? "Nv:DbWriter:ReadOnly"
            : walOptions?.Value.ReadOnly == true ? "Nv:Wal:ReadOnly"
            : null;
        _keys = keys;
        _metrics = metrics;
        _wal = wal;
        _db = db;
        _audit = audit;
        _replayer = replayer;
        _pipeline = pipeline;
        _options = options.Value;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <summary>Whether boot replay finished and writes are accepted.</summary>
    public bool IsReady => _pipeline.IsReady;

    /// <summary>Completes with the boot replay summary (or faults if start failed).</summary>
    public Task<ReplaySummary> Replayed => _replayed.Task;

    /// <exception cref="OptionsValidationException">A read-only open (<c>Nv:Audit:ReadOnly</c>, <c>Nv:DbWriter:ReadOnly</c>,
    /// <c>Nv:Wal:ReadOnly</c>) is configured: those are for the CLI's read commands, and a host writes.</exception>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_readOnlySetting is { } setting)
        {
            throw new OptionsValidationException(setting, typeof(NvLifecycle),
                [$"{setting} is set: read-only opens are for nv's read commands, and a host writes (every append would fail). Remove it."]);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.BootAfterWalOpen);
            if (_options.InMemory)
            {
                Log.InMemoryMode(_logger);
            }

            await _db.InitializeAsync(stoppingToken);
            await _keys.OpenAsync(stoppingToken); // before anything is decrypted: the master key must be the store's
            await _audit.InitializeAsync(stoppingToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.BootAfterStoresOpen);
            var summary = await _replayer.RunAsync(dryRun: false, progress: _metrics is null ? null : _metrics.ReplayProgress, maxTransientRetries: null, stoppingToken);
            await _keys.StartWritingAsync(stoppingToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.BootAfterReplay);
            await RecordStartAsync(summary, stoppingToken);
            _pipeline.Faulted += OnPipelineFaulted;
            _pipeline.Start();
            Log.Ready(_logger, _options.Service, _options.Environment);
            _replayed.TrySetResult(summary);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _replayed.TrySetCanceled(stoppingToken);
            _pipeline.FailStart(new OperationCanceledException("Nv stopped before boot replay finished.", stoppingToken));
        }
        catch (Exception ex)
        {
            _replayed.TrySetException(ex);
            _pipeline.FailStart(ex);
            Environment.ExitCode = ex is StoreWalMismatchException ? ExitCodeOnStoreMismatch : 1;
            _lifetime.StopApplication();
            throw;
        }
    }

    // Fail-stop: a stage that failed unexpectedly leaves nothing to serve writes; every caller was answered. The host stops
    // with a non-zero exit code, so a supervisor restarts it and boot replay recovers from the WAL.
    private void OnPipelineFaulted(Exception fault)
    {
        if (!_options.StopHostOnFault)
        {
            return;
        }

        Environment.ExitCode = ExitCodeOnFault;
        _lifetime.StopApplication();
    }

    /// <summary>The process exit code when a store and the WAL disagree at start (<see cref="StoreWalMismatchException"/>).</summary>
    public const int ExitCodeOnStoreMismatch = 6;

    /// <summary>The process exit code after a pipeline stage failed (EX_SOFTWARE).</summary>
    public const int ExitCodeOnFault = 70;

    // One stop, however often the host asks: WebApplication.Run stops the host itself (and then disposes it) when a test's
    // WebApplicationFactory stops the same host, so two stops can overlap. A second call waits for the first, which
    // keeps the disposal after the stop and writes one service-stop entry.
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stopGate)
        {
            return _stopped ??= StopOnceAsync(cancellationToken);
        }
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        Log.Stopping(_logger);
        await _pipeline.StopAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
        await _audit.DrainSystemEntriesAsync(TimeSpan.FromSeconds(5)); // a fault's system-events entry, say
        if (_replayed.Task.IsCompletedSuccessfully && _wal.State == WalState.Open && _pipeline.Fault is null)
        {
            await _audit.RecordSystemAsync(AuditEntryFactory.ServiceStopped(_options.Service), cancellationToken);
            await _audit.CheckpointAsync(cancellationToken);
            await _wal.PersistWatermarksAsync(cancellationToken);
            Diagnostics.CrashPoints.Hit(Diagnostics.CrashPoints.AfterWatermarkPersist);
        }
    }
}
