using System.Text;
using System.Text.RegularExpressions;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Interpreting each traced call: the descriptor table, the volatile directory tree, and the recorded changes.</summary>
internal sealed partial class FsModel
{
    private const int AtFdCwd = -100;

    private void Apply(Syscall call)
    {
        var args = StraceLog.SplitArgs(call.Args);
        switch (call.Name)
        {
            case "openat":
                Open(call, Resolve(args[0], args[1]), args[2]);
                break;
            case "open":
                Open(call, Resolve(null, args[0]), args[1]);
                break;
            case "creat":
                Open(call, Resolve(null, args[0]), "O_WRONLY|O_CREAT|O_TRUNC");
                break;
            case "close":
                Close(call, StraceLog.Fd(args[0]));
                break;
            case "dup" or "dup2" or "dup3":
                Dup(call, StraceLog.Fd(args[0]), call.Name == "dup" ? null : StraceLog.Fd(args[1]));
                break;
            case "fcntl" or "fcntl64" when args.Count > 1 && args[1].StartsWith("F_DUPFD", StringComparison.Ordinal):
                Dup(call, StraceLog.Fd(args[0]), null);
                break;
            case "lseek":
                if (call.Succeeded && _fds.TryGetValue(StraceLog.Fd(args[0]), out var seeked))
                {
                    seeked.Position = call.ReturnValue!.Value;
                }

                break;
            case "write" or "pwrite64" or "writev" or "pwritev" or "pwritev2":
                Write(call, args);
                break;
            case "sendto" or "sendmsg":
                Sent(call, args);
                break;
            case "ftruncate":
                Truncate(call, FdNode(args[0]), StraceLog.Number(args[1]), extendOnly: false);
                break;
            case "truncate":
                Truncate(call, Lookup(Resolve(null, args[0])), StraceLog.Number(args[1]), extendOnly: false);
                break;
            case "fallocate":
                if (!args[1].Contains("KEEP_SIZE", StringComparison.Ordinal))
                {
                    Truncate(call, FdNode(args[0]), StraceLog.Number(args[2]) + StraceLog.Number(args[3]), extendOnly: true);
                }

                break;
            case "fsync" or "fdatasync":
                Sync(call, FdNode(args[0]), call.Name);
                break;
            case "sync" or "syncfs":
                if (call.Finished && call.Succeeded)
                {
                    _globalSyncs.Add((call.Entry, call.Exit));
                }

                break;
            case "rename":
                Rename(call, Resolve(null, args[0]), Resolve(null, args[1]));
                break;
            case "renameat" or "renameat2":
                if (args.Count > 4 && args[4].Contains("RENAME_EXCHANGE", StringComparison.Ordinal))
                {
                    ThrowIfModelled(Resolve(args[0], args[1]), "RENAME_EXCHANGE");
                }

                Rename(call, Resolve(args[0], args[1]), Resolve(args[2], args[3]));
                break;
            case "unlink" or "rmdir":
                Remove(call, Resolve(null, args[0]));
                break;
            case "unlinkat":
                Remove(call, Resolve(args[0], args[1]));
                break;
            case "mkdir":
                MakeDirectory(call, Resolve(null, args[0]));
                break;
            case "mkdirat":
                MakeDirectory(call, Resolve(args[0], args[1]));
                break;
            case "copy_file_range" or "sendfile" or "sendfile64" or "splice":
                // Not used by Nv; refuse rather than model silently wrong.
                if (args.Count > 2 && FdNode(call.Name == "copy_file_range" ? args[2] : args[0]) is not null)
                {
                    throw new InvalidOperationException($"{call.Name} into a modelled file is not supported");
                }

                break;
        }
    }

    private void Open(Syscall call, string path, string flags)
    {
        if (!call.Finished || !call.Succeeded)
        {
            if (!call.Finished && flags.Contains("O_CREAT", StringComparison.Ordinal) && Locate(path) is { } maybe
                && !maybe.Parent.Children.ContainsKey(maybe.Name))
            {
                // Killed while creating: the new, empty file may or may not exist.
                var created = NewNode(false, null, path);
                _dirOps.Add(new DirOp(call.Entry, call.Exit, maybe.Parent, maybe.Name, created, null, null, null));
            }
            else if (!call.Finished && flags.Contains("O_TRUNC", StringComparison.Ordinal) && Lookup(path) is { IsDirectory: false, Size: > 0 } existing)
            {
                // Killed while opening with O_TRUNC: the file may or may not have been emptied.
                AddData(existing, new DataOp(call.Entry, call.Exit, 0, null, 0, false, SyncFd: false), Relative(path)!, "truncate");
            }

            return;
        }

        var fd = (int)call.ReturnValue!.Value;
        var sync = flags.Contains("O_SYNC", StringComparison.Ordinal) || flags.Contains("O_DSYNC", StringComparison.Ordinal)
            || flags.Contains("O_RSYNC", StringComparison.Ordinal);
        if (flags.Contains("O_TMPFILE", StringComparison.Ordinal))
        {
            ThrowIfModelled(path + "/x", "O_TMPFILE");
        }

        FsNode? node = null;
        if (Relative(path) == "")
        {
            node = _rootNode;
        }
        else if (Locate(path) is { } at)
        {
            if (!at.Parent.Children.TryGetValue(at.Name, out node))
            {
                if (!flags.Contains("O_CREAT", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"'{path}' was opened but is not in the model");
                }

                node = NewNode(flags.Contains("O_DIRECTORY", StringComparison.Ordinal), null, path);
                at.Parent.Children[at.Name] = node;
                _dirOps.Add(new DirOp(call.Entry, call.Exit, at.Parent, at.Name, node, null, null, null));
                _events.Add(new TraceEvent(call.Entry, call.Exit, "create", Relative(path)!));
            }
            else if (flags.Contains("O_TRUNC", StringComparison.Ordinal) && !node.IsDirectory && node.Size > 0)
            {
                AddData(node, new DataOp(call.Entry, call.Exit, 0, null, 0, false, SyncFd: false), Relative(path)!, "truncate");
            }
        }

        _fds[fd] = new OpenFile(node, path, sync, flags.Contains("O_APPEND", StringComparison.Ordinal));
        _fdSince[fd] = call.Exit;
        _stdout.Remove(fd); // a new file under a number a duplicate of stdout once had
    }

    // The kernel frees a descriptor's number as the close starts, so another thread's open can get the number and finish
    // before this close does (calls are modelled in the order they finished). A close forgets only a descriptor made before
    // it started: forgetting the new one made its O_SYNC writes look unsynced (power-loss images without a segment's data
    // under commit metadata that names it; found by a WAL power-loss run, trace kept).
    private void Close(Syscall call, int fd)
    {
        if (!call.Finished || (_fdSince.TryGetValue(fd, out var since) && since > call.Entry))
        {
            return;
        }

        _fds.Remove(fd);
        _stdout.Remove(fd);
        _fdSince.Remove(fd);
    }

    private void Dup(Syscall call, int from, int? to)
    {
        if (!call.Finished || !call.Succeeded)
        {
            return;
        }

        var fd = to ?? (int)call.ReturnValue!.Value;
        if (_stdout.Contains(from))
        {
            _stdout.Add(fd); // .NET writes Console output through a duplicate of descriptor 1
        }
        else
        {
            _stdout.Remove(fd);
        }

        if (_fds.TryGetValue(from, out var file))
        {
            _fds[fd] = file;
        }
        else
        {
            _fds.Remove(fd); // dup2/dup3 closed what the number held
        }

        _fdSince[fd] = call.Exit;
    }

    private FsNode? FdNode(string arg)
    {
        var fd = StraceLog.Fd(arg);
        if (_fds.TryGetValue(fd, out var file))
        {
            return file.Node;
        }

        // Opened before the trace started, or a descriptor the model never saw: trust strace's annotation.
        return StraceLog.Annotation(arg) is { } path && path.StartsWith('/') ? Lookup(Path.GetFullPath(path)) : null;
    }

    private void Write(Syscall call, List<string> args)
    {
        var fd = StraceLog.Fd(args[0]);
        _fds.TryGetValue(fd, out var file);
        var node = file?.Node ?? FdNode(args[0]);
        var annotation = StraceLog.Annotation(args[0]) ?? "";
        var isVector = call.Name is "writev" or "pwritev" or "pwritev2";
        if (node is null)
        {
            if (_stdout.Contains(fd) && _ackSource == AckSource.StdoutLines)
            {
                var data = isVector ? StraceLog.IovecBytes(args[1]) : StraceLog.Bytes(args[1]);
                foreach (var line in Encoding.UTF8.GetString(data).Split('\n'))
                {
                    if (line.StartsWith("ACK ", StringComparison.Ordinal))
                    {
                        _acks.Add(new TraceAck(call.Entry, line));
                    }
                }
            }
            else if (IsSocket(annotation))
            {
                SocketAcks(call, isVector ? StraceLog.IovecBytes(args[1]) : StraceLog.Bytes(args[1]));
            }

            return;
        }

        if (call.Finished && !call.Succeeded)
        {
            return;
        }

        var bytes = isVector ? StraceLog.IovecBytes(args[1]) : StraceLog.Bytes(args[1]);
        if (call.Finished && call.ReturnValue!.Value < bytes.Length)
        {
            bytes = bytes.AsSpan(0, (int)call.ReturnValue.Value).ToArray();
        }

        long offset = call.Name switch
        {
            "pwrite64" => StraceLog.Number(args[3]),
            "pwritev" or "pwritev2" => StraceLog.Number(args[3]),
            _ => file is null ? throw new InvalidOperationException("write() on a descriptor the model never saw opened")
                : file.Append ? node.Size : file.Position,
        };
        if (call.Name is "write" or "writev" && file is not null)
        {
            file.Position = offset + bytes.Length;
        }

        AddData(node, new DataOp(call.Entry, call.Exit, offset, bytes, 0, false, SyncFd: file?.Sync ?? false), Relative(node.FirstPath) ?? node.FirstPath, "write");
    }

    private void AddData(FsNode node, DataOp op, string path, string kind)
    {
        node.Ops.Add(op);
        if (op.Finished)
        {
            node.Size = op.Data is null ? (op.ExtendOnly ? Math.Max(node.Size, op.Size) : op.Size) : Math.Max(node.Size, op.End);
        }

        _events.Add(new TraceEvent(op.Entry, op.Exit, kind, CurrentPath(node) ?? path, op.Data));
    }

    private void Sent(Syscall call, List<string> args)
    {
        if (IsSocket(StraceLog.Annotation(args[0]) ?? ""))
        {
            SocketAcks(call, call.Name == "sendmsg" ? StraceLog.IovecBytes(args[1]) : StraceLog.Bytes(args[1]));
        }
    }

    private static bool IsSocket(string annotation) =>
        annotation.StartsWith("socket:", StringComparison.Ordinal) || annotation.StartsWith("TCP", StringComparison.Ordinal);

    private void SocketAcks(Syscall call, byte[] data)
    {
        if (_ackSource != AckSource.SocketRequestIds)
        {
            return;
        }

        foreach (Match match in RequestIdPattern().Matches(Encoding.UTF8.GetString(data)))
        {
            _acks.Add(new TraceAck(call.Entry, match.Groups[1].Value));
        }
    }

    // An answer that names an LSN (the write is durable): {"requestId":"...",...,"lsn":N} in a success or problem body.
    [GeneratedRegex("\"requestId\":\"([^\"]+)\"[^{}]*\"lsn\":[0-9]+")]
    private static partial Regex RequestIdPattern();

    private void Truncate(Syscall call, FsNode? node, long size, bool extendOnly)
    {
        if (node is null || (call.Finished && !call.Succeeded))
        {
            return;
        }

        AddData(node, new DataOp(call.Entry, call.Exit, 0, null, size, extendOnly, SyncFd: false), Relative(node.FirstPath) ?? "", "truncate");
    }

    private void Sync(Syscall call, FsNode? node, string kind)
    {
        if (node is null || !call.Finished || !call.Succeeded)
        {
            return;
        }

        node.Syncs.Add((call.Entry, call.Exit));
        _events.Add(new TraceEvent(call.Entry, call.Exit, kind, CurrentPath(node) ?? ""));
    }
}
