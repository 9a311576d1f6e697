using System.Collections.Immutable;
using System.Security.Cryptography;
using Nv.Audit.Merkle;

namespace Nv.Unit.Tests.Audit.Merkle;

public sealed class CheckpointTests : IDisposable
{
    private static readonly DateTimeOffset Time = new(2026, 11, 23, 13, 0, 3, 456, TimeSpan.Zero);
    private static readonly MerkleHash Root = MerkleHash.FromHex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");

    private readonly string _dir = Directory.CreateTempSubdirectory("nv-checkpoint-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.FromPem(NewP256Pem());

    public void Dispose()
    {
        _signer.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Canonical_text_has_the_documented_layout()
    {
        var checkpoint = new Checkpoint { ChainId = "prod:orders", TreeSize = 8, RootHash = Root, Timestamp = Time, KeyId = "0123456789abcdef" };
        Assert.Equal(
            "nv-audit-checkpoint/v1\nchain: prod:orders\nsize: 8\nroot: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
            + "time: 2026-11-23T13:00:03.456Z\nkey: 0123456789abcdef\n",
            checkpoint.ToCanonicalText());
    }

    [Fact]
    public void Timestamps_are_normalized_to_utc_milliseconds()
    {
        var local = new DateTimeOffset(2026, 11, 23, 15, 0, 3, TimeSpan.FromHours(2)).AddTicks(4567);
        var checkpoint = _signer.Sign("c", 1, Root, local).Checkpoint;
        Assert.Equal(TimeSpan.Zero, checkpoint.Timestamp.Offset);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 13, 0, 3, TimeSpan.Zero), checkpoint.Timestamp);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("line\nbreak")]
    [InlineData("ünïcode")]
    public void Invalid_chain_ids_are_rejected(string chainId) =>
        Assert.Throws<ArgumentException>(() => _signer.Sign(chainId, 1, Root, Time));

    [Fact]
    public void Sign_then_verify_succeeds()
    {
        using var verifier = _signer.CreateVerifier();
        var signed = _signer.Sign("prod:orders", 8, Root, Time);
        var result = verifier.Verify(signed);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(CheckpointFailure.None, result.Failure);
        Assert.Equal(_signer.KeyId, signed.Checkpoint.KeyId);
        Assert.Matches("^[0-9a-f]{16}$", _signer.KeyId);
    }

    [Fact]
    public void Signing_a_tree_head_records_its_size_and_root()
    {
        var tree = new MerkleTree();
        tree.AppendData("a"u8);
        tree.AppendData("b"u8);
        var signed = _signer.Sign("chain", tree, TimeProvider.System);
        Assert.Equal(2, signed.Checkpoint.TreeSize);
        Assert.Equal(tree.Root, signed.Checkpoint.RootHash);
        using var verifier = _signer.CreateVerifier();
        Assert.True(verifier.Verify(signed).IsValid);
    }

    public static TheoryData<string> Tampers => ["size", "root", "timestamp", "chain"];

    [Theory]
    [MemberData(nameof(Tampers))]
    public void A_tampered_field_fails_with_a_signature_mismatch(string field)
    {
        using var verifier = _signer.CreateVerifier();
        var signed = _signer.Sign("prod:orders", 8, Root, Time);
        var c = signed.Checkpoint;
        var tampered = signed with
        {
            Checkpoint = field switch
            {
                "size" => c with { TreeSize = 9 },
                "root" => c with { RootHash = MerkleHasher.EmptyRoot },
                "timestamp" => c with { Timestamp = Time.AddMilliseconds(1) },
                "chain" => c with { ChainId = "prod:billing" },
                _ => throw new ArgumentOutOfRangeException(nameof(field)),
            },
        };

        var result = verifier.Verify(tampered);
        Assert.False(result.IsValid);
        Assert.Equal(CheckpointFailure.SignatureMismatch, result.Failure);
        Assert.Contains("altered", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_flipped_signature_bit_fails()
    {
        using var verifier = _signer.CreateVerifier();
        var signed = _signer.Sign("prod:orders", 8, Root, Time);
        var bytes = signed.Signature.ToArray();
        for (var i = 0; i < bytes.Length; i++)
        {
            for (var bit = 0; bit < 8; bit += 3)
            {
                var copy = (byte[])bytes.Clone();
                copy[i] ^= (byte)(1 << bit);
                var result = verifier.Verify(signed with { Signature = ImmutableArray.Create(copy) });
                Assert.False(result.IsValid, $"byte {i} bit {bit}");
                Assert.NotEqual(CheckpointFailure.KeyMismatch, result.Failure);
            }
        }

        var truncated = verifier.Verify(signed with { Signature = [.. bytes[..^1]] });
        Assert.False(truncated.IsValid);
        var empty = verifier.Verify(signed with { Signature = [] });
        Assert.Equal(CheckpointFailure.MalformedSignature, empty.Failure);
    }

    [Fact]
    public void A_different_public_key_is_rejected_with_a_key_mismatch()
    {
        using var other = CheckpointSigner.FromPem(NewP256Pem());
        using var wrongVerifier = other.CreateVerifier();
        var signed = _signer.Sign("prod:orders", 8, Root, Time);

        var result = wrongVerifier.Verify(signed);
        Assert.Equal(CheckpointFailure.KeyMismatch, result.Failure);
        Assert.Contains(_signer.KeyId, result.Reason, StringComparison.Ordinal);

        // Relabelling the checkpoint with the other key's id does not help: the signature no longer matches.
        var relabelled = signed with { Checkpoint = signed.Checkpoint with { KeyId = other.KeyId } };
        Assert.Equal(CheckpointFailure.SignatureMismatch, wrongVerifier.Verify(relabelled).Failure);
    }

    [Fact]
    public void Export_and_import_round_trip_through_a_file()
    {
        var signed = _signer.Sign("prod:orders", 1_000_000, Root, Time);
        var path = Path.Combine(_dir, "checkpoint.txt");
        signed.WriteToFile(path);

        var read = SignedCheckpoint.ReadFromFile(path);
        Assert.Equal(signed, read);
        Assert.Equal(signed.ToText(), File.ReadAllText(path));
        Assert.StartsWith(signed.Checkpoint.ToCanonicalText() + "\nsignature: ", File.ReadAllText(path), StringComparison.Ordinal);

        using var verifier = CheckpointVerifier.FromPublicKeyPem(_signer.PublicKeyPem);
        Assert.True(verifier.Verify(read).IsValid);
        Assert.Equal(signed, SignedCheckpoint.Parse(signed.ToText().TrimEnd('\n')));
    }

    [Fact]
    public void An_edited_file_parses_but_fails_verification()
    {
        var text = _signer.Sign("prod:orders", 8, Root, Time).ToText().Replace("size: 8\n", "size: 7\n", StringComparison.Ordinal);
        using var verifier = _signer.CreateVerifier();
        var result = verifier.Verify(SignedCheckpoint.Parse(text));
        Assert.Equal(CheckpointFailure.SignatureMismatch, result.Failure);
    }

    public static TheoryData<string, string, int> Corruptions => new()
    {
        { "nv-audit-checkpoint/v1\n", "nv-audit-checkpoint/v2\n", 1 },
        { "chain: prod:orders\n", "chain: prod orders\n", 2 },
        { "chain: prod:orders\n", "chain: \n", 2 },
        { "size: 8\n", "size: 08\n", 3 },
        { "size: 8\n", "size: -8\n", 3 },
        { "size: 8\n", "size: eight\n", 3 },
        { "size: 8\n", "size: 99999999999999999999\n", 3 },
        { "size: 8\n", "count: 8\n", 3 },
        { "root: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "root: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ==\n", 4 },
        { "root: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "root: not*base64\n", 4 },
        { "root: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n", "root: XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n", 4 },
        { "time: 2026-11-23T13:00:03.456Z\n", "time: 2026-11-23T13:00:03Z\n", 5 },
        { "time: 2026-11-23T13:00:03.456Z\n", "time: 2026-11-23T15:00:03.456+02:00\n", 5 },
        { "time: 2026-11-23T13:00:03.456Z\n", "time: 2026-13-23T13:00:03.456Z\n", 5 },
        { "\n\nsignature: ", "\nextra\nsignature: ", 7 },
        { "\nsignature: ", "\nsig: ", 8 },
        { "\nsignature: ", "\nsignature: %%%", 8 },
        { "\nsignature: ", "\nsignature:  ", 8 },
        { "nv-audit-checkpoint/v1\nchain", "nv-audit-checkpoint/v1\r\nchain", 1 },
        { "key: ", "\nkey: ", 0 },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Corrupted_text_is_rejected_with_the_line_number(string find, string replace, int line)
    {
        var text = _signer.Sign("prod:orders", 8, Root, Time).ToText();
        Assert.Contains(find, text, StringComparison.Ordinal);
        var corrupted = text.Replace(find, replace, StringComparison.Ordinal);

        var ex = Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.Parse(corrupted));
        Assert.Equal(line, ex.LineNumber);
        Assert.False(ex.IsTransient);
        Assert.StartsWith(line > 0 ? $"Checkpoint line {line}: " : "Checkpoint: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_truncated_or_trailing_garbage_files_are_rejected()
    {
        var text = _signer.Sign("prod:orders", 8, Root, Time).ToText();
        Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.Parse(""));
        Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.Parse(text[..(text.Length / 2)]));
        Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.Parse(text + "more\n"));
        Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.Parse(text + "\n"));

        var path = Path.Combine(_dir, "bad.txt");
        File.WriteAllBytes(path, [0xff, 0xfe, 0x00, 0x01]);
        Assert.Throws<CheckpointFormatException>(() => SignedCheckpoint.ReadFromFile(path));
    }

    [Fact]
    public void Keys_load_from_files_and_environment()
    {
        var pem = NewP256Pem();
        var keyPath = Path.Combine(_dir, "key.pem");
        var pubPath = Path.Combine(_dir, "pub.pem");
        File.WriteAllText(keyPath, pem);
        using var fromFile = CheckpointSigner.FromPemFile(keyPath);
        File.WriteAllText(pubPath, fromFile.PublicKeyPem);
        using var verifier = CheckpointVerifier.FromPublicKeyPemFile(pubPath);
        Assert.Equal(fromFile.KeyId, verifier.KeyId);

        var variable = "NV_TEST_CHECKPOINT_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, pem);
        try
        {
            using var fromEnv = CheckpointSigner.FromEnvironment(variable);
            Assert.Equal(fromFile.KeyId, fromEnv.KeyId);
            Assert.True(verifier.Verify(fromEnv.Sign("c", 3, Root, Time)).IsValid);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Assert.Throws<InvalidOperationException>(() => CheckpointSigner.FromEnvironment(variable));
        Assert.Throws<FileNotFoundException>(() => CheckpointSigner.FromPemFile(Path.Combine(_dir, "missing.pem")));

        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var fromSpki = CheckpointVerifier.FromSubjectPublicKeyInfo(ec.ExportSubjectPublicKeyInfo());
        Assert.Matches("^[0-9a-f]{16}$", fromSpki.KeyId);
    }

    [Fact]
    public void Unusable_keys_are_rejected_with_a_clear_error()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var ex = Assert.Throws<ArgumentException>(() => CheckpointSigner.FromPem(p384.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("P-256", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CheckpointVerifier.FromPublicKeyPem(p384.ExportSubjectPublicKeyInfoPem()));

        Assert.Throws<ArgumentException>(() => CheckpointSigner.FromPem(_signer.PublicKeyPem));
        Assert.Throws<ArgumentException>(() => CheckpointSigner.FromPem("not a pem"));

        using var rsa = RSA.Create(2048);
        Assert.Throws<ArgumentException>(() => CheckpointVerifier.FromPublicKeyPem(rsa.ExportSubjectPublicKeyInfoPem()));
        Assert.Throws<ArgumentException>(() => CheckpointVerifier.FromSubjectPublicKeyInfo([1, 2, 3]));
    }

    [Fact]
    public void A_signer_refuses_a_checkpoint_naming_another_key()
    {
        var checkpoint = new Checkpoint { ChainId = "c", TreeSize = 1, RootHash = Root, Timestamp = Time, KeyId = "ffffffffffffffff" };
        Assert.Throws<ArgumentException>(() => _signer.Sign(checkpoint));
    }

    private static string NewP256Pem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return key.ExportPkcs8PrivateKeyPem();
    }
}
