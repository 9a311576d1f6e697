using System.Security.Cryptography;
using System.Text;
using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Protection;

public sealed class DataKeyTests
{
    private static readonly byte[] Ad = "record-1"u8.ToArray();

    [Fact]
    public void Seal_and_open_round_trip_with_and_without_compression()
    {
        using var key = DataKey.Generate();
        var small = "{\"name\":\"Ada\"}"u8.ToArray();
        var large = Encoding.UTF8.GetBytes("{\"notes\":\"" + string.Concat(Enumerable.Repeat("repetitive text ", 200)) + "\"}");
        foreach (var plaintext in new[] { small, large, [] })
        {
            foreach (var compress in new[] { false, true })
            {
                var sealedValue = key.Seal(plaintext, Ad, compress);
                Assert.Equal(plaintext, key.Open(sealedValue, Ad));
            }
        }

        Assert.True(key.Seal(large, Ad, compress: true).Length < large.Length / 4, "a repetitive payload compresses inside the seal");
        Assert.Equal(small.Length + DataKey.SealOverhead, key.Seal(small, Ad, compress: true).Length); // too small to compress
    }

    [Fact]
    public void Sealed_bytes_do_not_contain_the_plaintext()
    {
        using var key = DataKey.Generate();
        var secret = "{\"ssn\":\"078-05-1120\",\"name\":\"Hilda Whitcher\"}"u8.ToArray();
        var sealedValue = key.Seal(secret, Ad);
        Assert.Equal(-1, sealedValue.AsSpan().IndexOf("078-05-1120"u8));
        Assert.Equal(-1, sealedValue.AsSpan().IndexOf("Whitcher"u8));
    }

    [Fact]
    public void Any_changed_byte_other_associated_data_or_another_key_is_refused()
    {
        using var key = DataKey.Generate();
        using var other = DataKey.Generate();
        var sealedValue = key.Seal("{\"a\":1}"u8, Ad);
        for (var i = 0; i < sealedValue.Length; i++)
        {
            var damaged = (byte[])sealedValue.Clone();
            damaged[i] ^= 0x01;
            Assert.Throws<PayloadSealException>(() => key.Open(damaged, Ad));
        }

        Assert.Throws<PayloadSealException>(() => key.Open(sealedValue, "record-2"u8));
        Assert.Throws<PayloadSealException>(() => other.Open(sealedValue, Ad));
        Assert.Throws<PayloadSealException>(() => key.Open(sealedValue.AsSpan(0, 20), Ad));
    }

    [Fact]
    public void The_same_message_seals_to_the_same_bytes_and_a_different_one_to_a_different_nonce()
    {
        using var key = DataKey.Generate();
        var a = key.Seal("{\"a\":1}"u8, Ad);
        Assert.Equal(a, key.Seal("{\"a\":1}"u8, Ad)); // a rebuilt audit entry is byte-identical
        Assert.NotEqual(a.AsSpan(2, 12).ToArray(), key.Seal("{\"a\":2}"u8, Ad).AsSpan(2, 12).ToArray());
        Assert.NotEqual(a.AsSpan(2, 12).ToArray(), key.Seal("{\"a\":1}"u8, "record-2"u8).AsSpan(2, 12).ToArray());
    }

    // The nonce argument (docs/data-at-rest.md): a nonce is the first 96 bits of HMAC-SHA256 over the whole message, so two
    // different messages share one with probability at most q(q-1)/2^97 for q messages under one key. One data key serves
    // one subject; even 2^32 messages under it (NIST SP 800-38D's limit for random 96-bit nonces) keep the chance of any
    // repeat below 2^-33. Empirically: 200,000 distinct messages under one key, no repeated nonce.
    [Fact]
    public void Nonces_of_distinct_messages_do_not_repeat_and_the_bound_holds_at_two_to_the_32_messages()
    {
        static double Bound(double q) => q * (q - 1) / Math.Pow(2, 97);
        Assert.True(Bound(Math.Pow(2, 32)) < Math.Pow(2, -33));
        Assert.True(Bound(1e9) < 1e-11, "a billion writes to one subject");

        using var key = DataKey.Generate();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Span<byte> message = stackalloc byte[16];
        for (var i = 0; i < 200_000; i++)
        {
            BitConverter.TryWriteBytes(message, i);
            var sealedValue = key.Seal(message, Ad);
            Assert.True(seen.Add(Convert.ToHexString(sealedValue.AsSpan(2, 12))), $"nonce repeated at message {i}");
        }
    }

    [Fact]
    public void Exported_material_rebuilds_the_same_key()
    {
        using var key = DataKey.Generate();
        var material = key.ExportKeyMaterial();
        using var copy = DataKey.FromKeyMaterial(key.Id, material);
        Assert.Equal("{}"u8.ToArray(), copy.Open(key.Seal("{}"u8, Ad), Ad));
        CryptographicOperations.ZeroMemory(material);
        Assert.Throws<ArgumentException>(() => DataKey.FromKeyMaterial(Guid.NewGuid(), new byte[16]));
    }

    // SQLite stores a key id as Guid.ToByteArray(), MongoDB as its "D" text; keys are stored and assigned in the order they
    // were made. UUIDv7 ids (before) sorted in that order only as text: each key's insert and assignment then hit a random
    // page of SQLite's key table.
    [Fact]
    public void New_key_ids_are_unique_and_sort_in_creation_order_as_stored_bytes_and_as_text()
    {
        var ids = new List<Guid>();
        for (var i = 0; i < 2000; i++)
        {
            using var key = DataKey.Generate();
            ids.Add(key.Id);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i - 1].ToByteArray().AsSpan().SequenceCompareTo(ids[i].ToByteArray()) < 0, $"stored bytes out of order at {i}");
            Assert.True(string.CompareOrdinal(ids[i - 1].ToString("D"), ids[i].ToString("D")) < 0, $"text out of order at {i}");
        }
    }
}
