using System.Globalization;
using System.Text;

namespace Nv.Smoke.Tests.Verify;

/// <summary>The oracle's own reading of docs/json-numbers.md: the one text form Nv gives every JSON number before the WAL
/// append (written apart from <c>Nv.DbWriter.JsonNumbers</c>, so a change there that breaks the documented form shows).</summary>
internal static class CanonicalNumber
{
    public static string Of(string token)
    {
        var negative = token.StartsWith('-');
        var body = negative ? token[1..] : token;
        var e = body.IndexOfAny(['e', 'E']);
        var mantissa = e < 0 ? body : body[..e];
        var exponent = e < 0 ? 0 : int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var fraction = point < 0 ? "" : mantissa[(point + 1)..];
        var digits = (point < 0 ? mantissa : mantissa[..point]) + fraction;
        var scale = exponent - fraction.Length; // value = digits × 10^scale

        digits = digits.TrimStart('0');
        if (digits.Length == 0)
        {
            return "0";
        }

        var trimmed = digits.TrimEnd('0');
        scale += digits.Length - trimmed.Length;
        digits = trimmed;
        var k = digits.Length;
        var n = k + scale; // value = 0.digits × 10^n

        var text = new StringBuilder(negative ? "-" : "");
        if (k <= n && n <= 21)
        {
            text.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            text.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            text.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            text.Append(digits[0]);
            if (k > 1)
            {
                text.Append('.').Append(digits, 1, k - 1);
            }

            text.Append('e').Append(n - 1 >= 0 ? '+' : '-').Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }
}
