namespace Nv.Wal;

/// <summary>What recovery does when it finds damaged records (modelled on RocksDB's WAL recovery modes).</summary>
public enum WalRecoveryMode
{
    /// <summary>Default. A damaged tail (torn write, zero fill) is cut after being saved aside; damage before valid records refuses the open.</summary>
    TolerateCorruptedTail = 0,

    /// <summary>Any damage, even at the tail, refuses the open.</summary>
    AbsoluteConsistency = 1,

    /// <summary>Recover up to the first damaged record and cut everything after it (saved aside), even valid records.</summary>
    PointInTime = 2,

    /// <summary>Skip every damaged record, keep every valid one, and log each skip.</summary>
    SkipAnyCorruptedRecord = 3,
}
