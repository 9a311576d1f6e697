using System.Security.Cryptography;
using Nv.Wal;

namespace Nv.Unit.Tests.Wal;

/// <summary><see cref="WalOptions.ReadOnly"/>: recovery runs in memory, every record reads, nothing in the directory is
/// created, changed or deleted, and writes are refused.</summary>
public sealed class WalReadOnlyTests : WalTestBase
{
    [Fact]
    public async Task A_read_only_open_reads_every_record_and_changes_no_file()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 50);
            wal.AdvanceApplied(new Lsn(40));
            await wal.PersistWatermarksAsync(Ct);
        }

        var before = Snapshot(Directory);
        await using (var wal = WriteAheadLog.Open(ReadOnly()))
        {
            Assert.Equal(50, (await ReadAll(wal)).Count);
            Assert.Equal(new Lsn(40), wal.AppliedLsn);
            Assert.Equal(new Lsn(50), wal.DurableLsn);
        }

        Assert.Equal(before, Snapshot(Directory));
    }

    /// <summary>A crash image (no close commit; the tail page and commit metadata as a killed process left them): what a
    /// read-write open would tidy (older metadata files, the directory fsyncs, the lock file) is left alone.</summary>
    [Fact]
    public async Task A_read_only_open_of_a_crash_image_changes_nothing_and_reads_what_a_read_write_open_recovers()
    {
        var image = Directory + "-image";
        try
        {
            await using (var wal = Open())
            {
                await AppendFlushed(wal, 30);
                await AppendFlushed(wal, 30, start: 30);
                CopyDirectory(Directory, image);
            }

            var before = Snapshot(image);
            List<WalRecord> readOnly;
            await using (var wal = WriteAheadLog.Open(ReadOnly(image)))
            {
                readOnly = await ReadAll(wal);
            }

            Assert.Equal(before, Snapshot(image));
            var options = Options();
            options.Directory = image;
            await using var readWrite = WriteAheadLog.Open(options);
            Assert.Equal((await ReadAll(readWrite)).Select(r => r.Lsn), readOnly.Select(r => r.Lsn));
            Assert.Equal(60, readOnly.Count);
        }
        finally
        {
            System.IO.Directory.Delete(image, recursive: true);
        }
    }

    /// <summary>A copy without nv.lock is read without the lock (and without creating one); a host that starts on that copy
    /// while the read-only recovery reads it (it creates and takes nv.lock first, then may cut or rebuild the log) makes the
    /// open fail instead of reporting what it read. Fails without the check: the open succeeded.</summary>
    [Fact]
    public async Task A_lockless_read_only_open_during_which_a_writer_takes_the_lock_is_refused()
    {
        var image = Directory + "-copy";
        try
        {
            await using (var wal = Open())
            {
                await AppendFlushed(wal, 20);
            }

            CopyDirectory(Directory, image); // without nv.lock
            global::Nv.Wal.IO.DirectoryLock? writer = null;
            var options = ReadOnly(image);
            try
            {
                var ex = Assert.Throws<WalLockedException>(() => new FasterWriteAheadLog(options, null, deviceFactory: path =>
                {
                    // Mid-recovery, before any segment is read: the first step of a host's read-write open of the copy.
                    writer = global::Nv.Wal.IO.DirectoryLock.Acquire(image);
                    return new global::Nv.Wal.IO.SegmentFileDevice(path, readOnly: true);
                }));
                Assert.Contains("opened it for writing while it was being read", ex.Message, StringComparison.Ordinal);
            }
            finally
            {
                writer?.Dispose();
            }

            // Without a writer the copy reads as before, and no lock file appears.
            File.Delete(Path.Combine(image, "nv.lock"));
            await using (var wal = WriteAheadLog.Open(ReadOnly(image)))
            {
                Assert.Equal(20, (await ReadAll(wal)).Count);
            }

            Assert.False(File.Exists(Path.Combine(image, "nv.lock")));
        }
        finally
        {
            System.IO.Directory.Delete(image, recursive: true);
        }
    }

    /// <summary>After the recovery, each read opens the segments by name again, so a host started on the copy meanwhile (it
    /// creates nv.lock, then may cut, rebuild or truncate) could change what the read returns: a read that ends with a lock
    /// file present fails. Fails without the check at the end of the read: the read completed as if nothing happened.</summary>
    [Fact]
    public async Task A_lockless_read_during_which_a_writer_takes_the_lock_fails_at_its_end()
    {
        var image = Directory + "-copy2";
        try
        {
            await using (var wal = Open())
            {
                await AppendFlushed(wal, 20);
            }

            CopyDirectory(Directory, image); // without nv.lock
            global::Nv.Wal.IO.DirectoryLock? writer = null;
            try
            {
                await using var copy = WriteAheadLog.Open(ReadOnly(image));
                var read = 0;
                var ex = await Assert.ThrowsAsync<WalLockedException>(async () =>
                {
                    await foreach (var record in copy.ReadAsync(new Lsn(1), TestContext.Current.CancellationToken))
                    {
                        if (++read == 5)
                        {
                            writer = global::Nv.Wal.IO.DirectoryLock.Acquire(image); // a host starts on the copy
                        }
                    }
                });
                Assert.Contains("opened it for writing while it was being read", ex.Message, StringComparison.Ordinal);
                Assert.Equal(20, read);
            }
            finally
            {
                writer?.Dispose();
            }
        }
        finally
        {
            System.IO.Directory.Delete(image, recursive: true);
        }
    }

    [Fact]
    public async Task A_read_only_log_refuses_every_write()
    {
        await using (var wal = Open())
        {
            await AppendFlushed(wal, 3);
        }

        await using var readOnly = WriteAheadLog.Open(ReadOnly());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await readOnly.AppendAsync(Record(9), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await readOnly.FlushAsync(new Lsn(3), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await readOnly.ContinueAfterAsync(new Lsn(100), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await readOnly.PersistWatermarksAsync(Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await readOnly.TruncateAsync(Ct));
    }

    [Fact]
    public void A_read_only_open_of_a_missing_directory_creates_nothing()
    {
        var missing = Path.Combine(Directory, "mistyped", "wal");

        Assert.Throws<WalConfigurationException>(() => WriteAheadLog.Open(ReadOnly(missing)));

        Assert.False(System.IO.Directory.Exists(Path.Combine(Directory, "mistyped")));
    }

    private WalOptions ReadOnly(string? directory = null)
    {
        var options = Options();
        options.Directory = directory ?? Directory;
        options.ReadOnly = true;
        return options;
    }

    private static SortedDictionary<string, string> Snapshot(string root) => new(
        System.IO.Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            e => Path.GetRelativePath(root, e),
            e => System.IO.Directory.Exists(e) ? "dir" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(e)))),
        StringComparer.Ordinal);
}
