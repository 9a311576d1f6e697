using FASTER.core;
using Nv.Wal.IO;

namespace Nv.Unit.Tests.Wal;

/// <summary>Nv's segment device with reads that fail (an I/O error thrown from the read call) while
/// <see cref="FailReads"/> is set: FasterLog's own recovery reads the log through its device, Nv's scan reads the files
/// directly, so this makes FasterLog's recovery fail while the files and the commit metadata stay readable.</summary>
internal sealed class ReadFaultDevice : StorageDeviceBase
{
    private readonly SegmentFileDevice _inner;

    public ReadFaultDevice(string baseName)
        : base(baseName, 512, Devices.CAPACITY_UNSPECIFIED)
    {
        _inner = new SegmentFileDevice(baseName);
    }

    public bool FailReads { get; set; } = true;

    public int FailedReads { get; private set; }

    public override void Initialize(long segmentSize, LightEpoch epoch = null!, bool omitSegmentIdFromFilename = false)
    {
        base.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
        _inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);
    }

    public override bool Throttle() => false;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite,
        DeviceIOCompletionCallback callback, object context) =>
        _inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength,
        DeviceIOCompletionCallback callback, object context)
    {
        if (FailReads)
        {
            FailedReads++;
            throw new IOException($"injected read error (segment {segmentId}, offset {sourceAddress})");
        }

        _inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);
    }

    public override void RemoveSegment(int segment) => _inner.RemoveSegment(segment);

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) =>
        _inner.RemoveSegmentAsync(segment, callback, result);

    public override long GetFileSize(int segment) => _inner.GetFileSize(segment);

    public override void Dispose() => _inner.Dispose();
}
