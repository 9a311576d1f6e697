using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Nv.DbWriter;

/// <summary>The one canonical text form of JSON numbers that Nv writes to the WAL, stores, returns and hashes.</summary>
/// <remarks>
/// Specified in docs/json-numbers.md. A number keeps its exact decimal value (no rounding to a double); only its
/// spelling is fixed: zero is <c>0</c>; otherwise, with the value written as ±0.d1…dk × 10^n (d1 ≠ 0, dk ≠ 0), the
/// layout of ECMAScript's Number::toString: <c>d1…dk</c> followed by n − k zeros when k ≤ n ≤ 21; the digits with a
/// point after the n-th when 0 &lt; n &lt; k and n ≤ 21; <c>0.</c>, −n zeros and the digits when −6 &lt; n ≤ 0; else
/// <c>d1[.d2…dk]e±(n−1)</c>. So <c>1e5</c> → <c>100000</c>, <c>100E-2</c> → <c>1</c>, <c>1.50</c> → <c>1.5</c>,
/// <c>-0.0</c> → <c>0</c>, <c>1E+21</c> → <c>1e+21</c>, <c>0.0000001</c> → <c>1e-7</c>. For a number that is the
/// shortest round-trip text of a double this is exactly what JavaScript and RFC 8785 print.
/// The pipeline normalizes every payload before the WAL append (<see cref="Normalize"/>), so the WAL, both writers and
/// the audit hash see one form; the MongoDB writer prints stored numbers in this form too. Entries and records
/// written before keep their own text (their hashes cover it).
/// </remarks>
public static class JsonNumbers
{
    /// <summary>Largest exponent-free layout (ECMAScript's 21): beyond it, and below 1e-6, the exponent form is used.</summary>
    private const int MaxPlainDigits = 21;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
    private static readonly JsonDocumentOptions DocumentOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The canonical text of a JSON number token.</summary>
    /// <exception cref="FormatException"><paramref name="token"/> is not a JSON number.</exception>
    public static string Canonicalize(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var buffer = new ArrayBufferWriter<byte>(token.Length + 32);
        Canonicalize(Encoding.UTF8.GetBytes(token), buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Whether a JSON number token (UTF-8) is already canonical.</summary>
    /// <exception cref="FormatException"><paramref name="token"/> is not a JSON number.</exception>
    public static bool IsCanonical(ReadOnlySpan<byte> token)
    {
        // Fast path for the common case: a plain integer token is canonical unless it is -0 or longer than 21 digits.
        var digits = token.Length > 0 && token[0] == (byte)'-' ? token[1..] : token;
        if (digits.Length is > 0 and <= MaxPlainDigits && digits[0] != (byte)'0' && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0)
        {
            return true;
        }

        if (digits.Length == 1 && digits[0] == (byte)'0')
        {
            return digits.Length == token.Length;
        }

        var buffer = new ArrayBufferWriter<byte>(token.Length + 32);
        Canonicalize(token, buffer);
        return buffer.WrittenSpan.SequenceEqual(token);
    }

    /// <summary>Returns <paramref name="value"/> (cloned, so it owns its memory) with every number token in canonical
    /// form; every other byte of its text (strings, escapes, key order) is kept as it was.</summary>
    /// <exception cref="FormatException">A number token is malformed (never for an element System.Text.Json parsed).</exception>
    public static JsonElement Normalize(JsonElement value)
    {
        var raw = JsonMarshal.GetRawUtf8Value(value);
        if (!NeedsRewrite(raw))
        {
            return value.Clone();
        }

        var output = new ArrayBufferWriter<byte>(raw.Length + 64);
        var reader = new Utf8JsonReader(raw, ReaderOptions);
        var copied = 0;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.Number)
            {
                continue;
            }

            var start = checked((int)reader.TokenStartIndex);
            output.Write(raw[copied..start]);
            Canonicalize(reader.ValueSpan, output);
            copied = start + reader.ValueSpan.Length;
        }

        output.Write(raw[copied..]);
        using var document = JsonDocument.Parse(output.WrittenMemory, DocumentOptions);
        return document.RootElement.Clone();
    }

    private static bool NeedsRewrite(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, ReaderOptions);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.Number && !IsCanonical(reader.ValueSpan))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes the canonical text of <paramref name="token"/> (UTF-8) to <paramref name="output"/>.</summary>
    /// <exception cref="FormatException"><paramref name="token"/> is not a JSON number.</exception>
    public static void Canonicalize(ReadOnlySpan<byte> token, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var negative = false;
        var i = 0;
        if (i < token.Length && token[i] == (byte)'-')
        {
            negative = true;
            i++;
        }

        // JSON grammar: int part (0 | [1-9][0-9]*), optional fraction, optional exponent.
        var intStart = i;
        while (i < token.Length && IsDigit(token[i]))
        {
            i++;
        }

        var intPart = token[intStart..i];
        if (intPart.Length == 0 || (intPart.Length > 1 && intPart[0] == (byte)'0'))
        {
            throw NotANumber(token);
        }

        var fraction = ReadOnlySpan<byte>.Empty;
        if (i < token.Length && token[i] == (byte)'.')
        {
            var fractionStart = ++i;
            while (i < token.Length && IsDigit(token[i]))
            {
                i++;
            }

            fraction = token[fractionStart..i];
            if (fraction.Length == 0)
            {
                throw NotANumber(token);
            }
        }

        BigInteger exponent = 0;
        if (i < token.Length && (token[i] == (byte)'e' || token[i] == (byte)'E'))
        {
            i++;
            var exponentNegative = false;
            if (i < token.Length && (token[i] == (byte)'+' || token[i] == (byte)'-'))
            {
                exponentNegative = token[i] == (byte)'-';
                i++;
            }

            var exponentStart = i;
            while (i < token.Length && IsDigit(token[i]))
            {
                i++;
            }

            if (i == exponentStart)
            {
                throw NotANumber(token);
            }

            exponent = ParseDigits(token[exponentStart..i]);
            if (exponentNegative)
            {
                exponent = -exponent;
            }
        }

        if (i != token.Length)
        {
            throw NotANumber(token);
        }

        // The significant digits: int part then fraction, without leading or trailing zeros.
        var digits = new byte[intPart.Length + fraction.Length];
        intPart.CopyTo(digits);
        fraction.CopyTo(digits.AsSpan(intPart.Length));
        var first = 0;
        while (first < digits.Length && digits[first] == (byte)'0')
        {
            first++;
        }

        if (first == digits.Length)
        {
            output.Write("0"u8);
            return;
        }

        var last = digits.Length - 1;
        while (digits[last] == (byte)'0')
        {
            last--;
        }

        var significant = digits.AsSpan(first, last - first + 1);
        var k = significant.Length;

        // value = 0.d1...dk × 10^n, where n = (digits before the point, counted from the first significant one) + exponent.
        var n = exponent + (intPart.Length - first);
        if (negative)
        {
            output.Write("-"u8);
        }

        if (n >= k && n <= MaxPlainDigits)
        {
            output.Write(significant);
            Zeros(output, (int)n - k);
        }
        else if (n > 0 && n <= MaxPlainDigits)
        {
            var point = (int)n;
            output.Write(significant[..point]);
            output.Write("."u8);
            output.Write(significant[point..]);
        }
        else if (n > -6 && n <= 0)
        {
            output.Write("0."u8);
            Zeros(output, -(int)n);
            output.Write(significant);
        }
        else
        {
            output.Write(significant[..1]);
            if (k > 1)
            {
                output.Write("."u8);
                output.Write(significant[1..]);
            }

            var shown = n - 1;
            output.Write(shown.Sign < 0 ? "e-"u8 : "e+"u8);
            output.Write(Encoding.ASCII.GetBytes(BigInteger.Abs(shown).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private static BigInteger ParseDigits(ReadOnlySpan<byte> digits)
    {
        // Short exponents (all real ones) without BigInteger parsing.
        if (digits.Length <= 18)
        {
            long value = 0;
            foreach (var d in digits)
            {
                value = (value * 10) + (d - '0');
            }

            return value;
        }

        return BigInteger.Parse(Encoding.ASCII.GetString(digits), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Zeros(IBufferWriter<byte> output, int count)
    {
        if (count <= 0)
        {
            return;
        }

        var span = output.GetSpan(count);
        span[..count].Fill((byte)'0');
        output.Advance(count);
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static FormatException NotANumber(ReadOnlySpan<byte> token) =>
        new($"'{Encoding.UTF8.GetString(token[..Math.Min(token.Length, 80)])}' is not a JSON number.");
}
