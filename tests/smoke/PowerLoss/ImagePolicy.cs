namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Which of the changes that were not durable at the cut an image keeps (durable ones are always kept).</summary>
internal enum ImagePolicy
{
    /// <summary>Only what was durable: the least a disk may hold after a power loss.</summary>
    DurableOnly,

    /// <summary>Everything that finished (and a coin toss per call still running): what a process crash (SIGKILL) leaves,
    /// since the page cache survives it.</summary>
    ProcessCrash,

    /// <summary>Per file and per directory, a random prefix of the non-durable changes (a disk that writes back in order).</summary>
    RandomPrefix,

    /// <summary>A random subset of the non-durable writes, applied in their order, the last kept write of a file
    /// possibly torn at a 512-byte boundary (a disk that reorders and tears); directory changes still as a prefix, in
    /// order (journaling file systems commit them in order).</summary>
    RandomSubset,
}
