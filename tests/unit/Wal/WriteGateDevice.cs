using FASTER.core;
using Nv.Wal.IO;

namespace Nv.Unit.Tests.Wal;

/// <summary>Nv's segment device whose writes can be held back (until <see cref="Release"/>) or failed with an I/O error:
/// makes a commit wait, or fail, at a chosen moment.</summary>
internal sealed class WriteGateDevice : StorageDeviceBase
{
    private readonly SegmentFileDevice _inner;
    private readonly ManualResetEventSlim _open = new(true);
    private readonly SemaphoreSlim _held = new(0);

    public WriteGateDevice(string baseName)
        : base(baseName, 512, Devices.CAPACITY_UNSPECIFIED)
    {
        _inner = new SegmentFileDevice(baseName);
    }

    /// <summary>Writes from now on fail (error code 5, EIO) without reaching the file.</summary>
    public bool FailWrites { get; set; }

    /// <summary>Writes from now on wait until <see cref="Release"/>.</summary>
    public void Hold() => _open.Reset();

    public void Release() => _open.Set();

    /// <summary>Completes when a write is being held.</summary>
    public Task WaitForHeldWriteAsync(CancellationToken cancellationToken) => _held.WaitAsync(cancellationToken);

    public override void Initialize(long segmentSize, LightEpoch epoch = null!, bool omitSegmentIdFromFilename = false)
    {
        base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        _inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
    }

    public override bool Throttle() => false;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite,
        DeviceIOCompletionCallback callback, object context)
    {
        if (_open.IsSet && !FailWrites)
        {
            _inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
            return;
        }

        _ = Task.Run(() =>
        {
            if (!_open.IsSet)
            {
                _held.Release();
                _open.Wait();
            }

            if (FailWrites)
            {
                callback(5, 0, context);
                return;
            }

            _inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
        });
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength,
        DeviceIOCompletionCallback callback, object context) =>
        _inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public override void RemoveSegment(int segment) => _inner.RemoveSegment(segment);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) =>
        _inner.RemoveSegmentAsync(segment, callback, result);

    public override long GetFileSize(int segment) => _inner.GetFileSize(segment);

    public override void Dispose()
    {
        _open.Set();
        _inner.Dispose();
    }
}
