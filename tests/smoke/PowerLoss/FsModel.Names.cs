using System.Text;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Paths and names: resolving a traced path to a node of the volatile tree, and the calls that change directory
/// entries (rename, unlink, rmdir, mkdir).</summary>
internal sealed partial class FsModel
{
    private string Resolve(string? dirArg, string pathArg)
    {
        var path = Encoding.UTF8.GetString(StraceLog.Bytes(pathArg));
        if (Path.IsPathRooted(path))
        {
            return Path.GetFullPath(path);
        }

        string baseDir;
        if (dirArg is null || StraceLog.Fd(dirArg) == AtFdCwd)
        {
            baseDir = dirArg is not null && StraceLog.Annotation(dirArg) is { } cwd ? cwd : _cwd;
            _cwd = baseDir;
        }
        else
        {
            baseDir = _fds.TryGetValue(StraceLog.Fd(dirArg), out var dir) ? dir.Path : StraceLog.Annotation(dirArg) ?? "/";
        }

        return Path.GetFullPath(Path.Combine(baseDir, path));
    }

    private (FsNode Parent, string Name)? Locate(string fullPath)
    {
        var relative = Relative(fullPath);
        if (relative is null or "" || Excluded(fullPath))
        {
            return null;
        }

        var parts = relative.Split('/');
        var node = _rootNode;
        foreach (var part in parts[..^1])
        {
            if (!node.Children.TryGetValue(part, out var next) || !next.IsDirectory)
            {
                throw new InvalidOperationException($"'{fullPath}': directory '{part}' is not in the model");
            }

            node = next;
        }

        return (node, parts[^1]);
    }

    private FsNode? Lookup(string fullPath)
    {
        if (Relative(fullPath) == "")
        {
            return _rootNode;
        }

        return Locate(fullPath) is { } at && at.Parent.Children.TryGetValue(at.Name, out var node) ? node : null;
    }

    private void ThrowIfModelled(string fullPath, string what)
    {
        if (Locate(fullPath) is not null)
        {
            throw new InvalidOperationException($"{what} on a modelled path is not supported");
        }
    }

    private void Rename(Syscall call, string from, string to)
    {
        if (call.Finished && !call.Succeeded)
        {
            return;
        }

        var source = Locate(from);
        var target = Locate(to);
        if (source is null && target is null)
        {
            return;
        }

        if (source is null || target is null)
        {
            throw new InvalidOperationException($"rename across the modelled tree's edge: '{from}' -> '{to}'");
        }

        if (!source.Value.Parent.Children.TryGetValue(source.Value.Name, out var node))
        {
            if (!call.Finished)
            {
                return;
            }

            throw new InvalidOperationException($"rename of '{from}', which is not in the model");
        }

        target.Value.Parent.Children.TryGetValue(target.Value.Name, out var replaced);
        _dirOps.Add(new DirOp(call.Entry, call.Exit, target.Value.Parent, target.Value.Name, node, source.Value.Parent, source.Value.Name, replaced));
        if (call.Finished)
        {
            source.Value.Parent.Children.Remove(source.Value.Name);
            target.Value.Parent.Children[target.Value.Name] = node;
        }

        _events.Add(new TraceEvent(call.Entry, call.Exit, "rename", Relative(to)!, Encoding.UTF8.GetBytes(Relative(from)!)));
    }

    private void Remove(Syscall call, string path)
    {
        if ((call.Finished && !call.Succeeded) || Locate(path) is not { } at)
        {
            return;
        }

        if (!at.Parent.Children.TryGetValue(at.Name, out var node))
        {
            if (!call.Finished)
            {
                return;
            }

            throw new InvalidOperationException($"unlink of '{path}', which is not in the model");
        }

        _dirOps.Add(new DirOp(call.Entry, call.Exit, at.Parent, at.Name, null, null, null, node));
        if (call.Finished)
        {
            at.Parent.Children.Remove(at.Name);
        }

        _events.Add(new TraceEvent(call.Entry, call.Exit, "unlink", Relative(path)!));
    }

    private void MakeDirectory(Syscall call, string path)
    {
        if ((call.Finished && !call.Succeeded) || Locate(path) is not { } at || at.Parent.Children.ContainsKey(at.Name))
        {
            return;
        }

        var node = NewNode(true, null, path);
        _dirOps.Add(new DirOp(call.Entry, call.Exit, at.Parent, at.Name, node, null, null, null));
        if (call.Finished)
        {
            at.Parent.Children[at.Name] = node;
        }

        _events.Add(new TraceEvent(call.Entry, call.Exit, "mkdir", Relative(path)!));
    }

    /// <summary>The node's current path relative to the root (volatile view), or null when it has no name any more.</summary>
    private string? CurrentPath(FsNode node)
    {
        if (node == _rootNode)
        {
            return "";
        }

        return Find(_rootNode, node, "");

        static string? Find(FsNode dir, FsNode wanted, string prefix)
        {
            foreach (var (name, child) in dir.Children)
            {
                var path = prefix.Length == 0 ? name : prefix + "/" + name;
                if (child == wanted)
                {
                    return path;
                }

                if (child.IsDirectory && Find(child, wanted, path) is { } found)
                {
                    return found;
                }
            }

            return null;
        }
    }
}
