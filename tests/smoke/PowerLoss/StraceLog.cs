using System.Globalization;
using System.Text;

namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>Reads an strace log written with <c>-f -y -x -s N -o FILE</c> into <see cref="Syscall"/>s, in the order they
/// finished (calls still running at the end come last, by start).</summary>
/// <remarks>Handles strace's split lines (<c>name(args &lt;unfinished ...&gt;</c> then <c>&lt;... name resumed&gt;rest) = ret</c>)
/// and skips signal and exit lines. Streams: only calls in flight are held.</remarks>
internal static class StraceLog
{
    private const string Unfinished = " <unfinished ...>";

    public static IEnumerable<Syscall> Read(string path)
    {
        var pending = new Dictionary<int, (string Name, string Args, int Entry)>();
        var died = new Dictionary<int, int>(); // thread → line of the call it died in (it must make no other)
        using var reader = new StreamReader(path, Encoding.Latin1, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 20);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
            {
                continue;
            }

            var rest = line.AsSpan(space + 1).TrimStart();
            if (rest.StartsWith("+++") || rest.StartsWith("---"))
            {
                continue;
            }

            if (rest.StartsWith("<... "))
            {
                var nameEnd = rest.IndexOf(" resumed>", StringComparison.Ordinal);
                if (nameEnd < 0 || !pending.Remove(tid, out var started))
                {
                    continue;
                }

                var tail = rest[(nameEnd + " resumed>".Length)..];
                if (!SplitReturn(tail, out var moreArgs, out var ret))
                {
                    // Resumed and interrupted again (a restart): keep waiting for the real end.
                    pending[tid] = started;
                    continue;
                }

                if (Unknown(ret))
                {
                    died.TryAdd(tid, number);
                    yield return new Syscall(tid, started.Name, started.Args + moreArgs, null, started.Entry, int.MaxValue);
                }
                else
                {
                    yield return new Syscall(tid, started.Name, started.Args + moreArgs, ret, started.Entry, number);
                }

                continue;
            }

            var paren = rest.IndexOf('(');
            if (paren <= 0)
            {
                continue;
            }

            var name = rest[..paren].ToString();
            var body = rest[(paren + 1)..];
            if (died.TryGetValue(tid, out var diedAt))
            {
                throw new FormatException($"trace line {number}: thread {tid} made a call after its call on line {diedAt} ended as if the process died inside it");
            }

            if (body.EndsWith(Unfinished, StringComparison.Ordinal))
            {
                pending[tid] = (name, body[..^Unfinished.Length].ToString(), number);
                continue;
            }

            if (SplitReturn(body, out var args, out var result))
            {
                if (Unknown(result))
                {
                    died.TryAdd(tid, number);
                    yield return new Syscall(tid, name, args, null, number, int.MaxValue);
                }
                else
                {
                    yield return new Syscall(tid, name, args, result, number, number);
                }
            }
        }

        foreach (var (tid, started) in pending.OrderBy(p => p.Value.Entry))
        {
            yield return new Syscall(tid, started.Name, started.Args, null, started.Entry, int.MaxValue);
        }
    }

    // "= ?": the process died inside the call, whose effect may or may not have happened. "= -1 (errno N)" with N above the
    // largest errno (4095): a return value no kernel call gives, which strace printed for a write whose thread was being
    // SIGKILLed (in CI a SQLite frame header, here a page: each had reached the page cache; N was 2^64 - 18); its effect is
    // just as unknown. Either way the thread made no further call (Read checks that). An unnamed errno in range is a failure.
    private static bool Unknown(string? ret)
    {
        const string UnnamedErrno = "-1 (errno ";
        if (ret is null)
        {
            return false;
        }

        if (ret.StartsWith('?'))
        {
            // "? ERESTARTSYS (To be restarted ...)": a signal interrupted the call before it did anything (the runtime signals
            // threads to suspend them for the GC); the thread goes on and the call is made again. A failure, not a death.
            return !ret.StartsWith("? ERESTART", StringComparison.Ordinal);
        }

        if (!ret.StartsWith(UnnamedErrno, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = ret.AsSpan(UnnamedErrno.Length);
        digits = digits[..Math.Max(0, digits.IndexOf(')'))];
        return !ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var errno) || errno > 4095;
    }

    // "args) = ret" (strace pads with spaces before '='): the last " = " that follows a ')'.
    private static bool SplitReturn(ReadOnlySpan<char> text, out string args, out string? ret)
    {
        var end = text.Length;
        while (true)
        {
            var at = text[..end].LastIndexOf(" = ", StringComparison.Ordinal);
            if (at < 0)
            {
                args = "";
                ret = null;
                return false;
            }

            var close = at;
            while (close > 0 && text[close - 1] == ' ')
            {
                close--;
            }

            if (close > 0 && text[close - 1] == ')')
            {
                args = text[..(close - 1)].ToString();
                ret = text[(at + 3)..].ToString();
                return true;
            }

            end = at;
        }
    }

    /// <summary>Splits an argument list at its top-level commas (quotes, brackets, braces and <c>&lt;path&gt;</c> annotations nest).</summary>
    public static List<string> SplitArgs(string args)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var c = args[i];
            switch (c)
            {
                case '"':
                    i = SkipString(args, i);
                    break;
                case '[' or '{' or '(':
                    depth++;
                    break;
                case ']' or '}' or ')':
                    depth--;
                    break;
                case '<' when i > 0 && (char.IsAsciiLetterOrDigit(args[i - 1]) || args[i - 1] == '_'):
                    var close = args.IndexOf('>', i);
                    i = close < 0 ? args.Length : close;
                    break;
                case ',' when depth == 0:
                    parts.Add(args[start..i].Trim());
                    start = i + 1;
                    break;
            }
        }

        parts.Add(args[start..].Trim());
        return parts;
    }

    private static int SkipString(string text, int quote)
    {
        for (var i = quote + 1; i < text.Length; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
            else if (text[i] == '"')
            {
                return i;
            }
        }

        return text.Length;
    }

    /// <summary>The file descriptor number of an argument like <c>12&lt;/path&gt;</c> (or <c>AT_FDCWD</c>: -100).</summary>
    public static int Fd(string arg)
    {
        if (arg.StartsWith("AT_FDCWD", StringComparison.Ordinal))
        {
            return -100;
        }

        var end = 0;
        while (end < arg.Length && char.IsAsciiDigit(arg[end]))
        {
            end++;
        }

        return int.Parse(arg.AsSpan(0, end), CultureInfo.InvariantCulture);
    }

    /// <summary>The annotation of an argument like <c>12&lt;/path&gt;</c>, or null.</summary>
    public static string? Annotation(string arg)
    {
        var open = arg.IndexOf('<', StringComparison.Ordinal);
        return open > 0 && arg.EndsWith('>') ? arg[(open + 1)..^1] : null;
    }

    public static long Number(string arg) => long.Parse(arg, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    /// <summary>Decodes a quoted strace string (<c>-x</c> escapes). Throws if strace truncated it (<c>"..."...</c>).</summary>
    public static byte[] Bytes(string arg)
    {
        var text = arg.AsSpan().Trim();
        if (text.Length < 2 || text[0] != '"')
        {
            throw new FormatException($"not a quoted string: {Shorten(arg)}");
        }

        var close = SkipString(arg.Trim(), 0);
        if (close != text.Length - 1)
        {
            throw new FormatException($"strace truncated a buffer (raise -s): {Shorten(arg)}");
        }

        var output = new byte[text.Length];
        var n = 0;
        for (var i = 1; i < text.Length - 1; i++)
        {
            var c = text[i];
            if (c != '\\')
            {
                output[n++] = (byte)c;
                continue;
            }

            var e = text[++i];
            switch (e)
            {
                case 'x':
                    output[n++] = (byte)((Hex(text[i + 1]) << 4) | Hex(text[i + 2]));
                    i += 2;
                    break;
                case 'n': output[n++] = (byte)'\n'; break;
                case 't': output[n++] = (byte)'\t'; break;
                case 'r': output[n++] = (byte)'\r'; break;
                case 'v': output[n++] = 0x0b; break;
                case 'f': output[n++] = 0x0c; break;
                case '"': output[n++] = (byte)'"'; break;
                case '\\': output[n++] = (byte)'\\'; break;
                case >= '0' and <= '7':
                    var value = 0;
                    var digits = 0;
                    while (digits < 3 && i < text.Length - 1 && text[i] is >= '0' and <= '7')
                    {
                        value = (value * 8) + (text[i] - '0');
                        i++;
                        digits++;
                    }

                    i--;
                    output[n++] = (byte)value;
                    break;
                default:
                    throw new FormatException($"unknown escape \\{e} in {Shorten(arg)}");
            }
        }

        return output.AsSpan(0, n).ToArray();
    }

    /// <summary>The bytes of every <c>iov_base="..."</c> in an iovec array argument, concatenated.</summary>
    public static byte[] IovecBytes(string arg)
    {
        using var buffer = new MemoryStream();
        var at = 0;
        while ((at = arg.IndexOf("iov_base=\"", at, StringComparison.Ordinal)) >= 0)
        {
            var start = at + "iov_base=".Length;
            var end = SkipString(arg, start);
            var tail = end + 1 < arg.Length && arg.AsSpan(end + 1).StartsWith("...") ? "..." : "";
            buffer.Write(Bytes(arg[start..(end + 1)] + tail));
            at = end + 1;
        }

        return buffer.ToArray();
    }

    private static int Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => throw new FormatException($"bad hex digit '{c}'"),
    };

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "…" : text;
}
