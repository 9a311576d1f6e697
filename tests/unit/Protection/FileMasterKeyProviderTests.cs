using Nv.Wal.Protection;

namespace Nv.Unit.Tests.Protection;

public sealed class FileMasterKeyProviderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "nv-mk-tests", Guid.NewGuid().ToString("N"));

    public FileMasterKeyProviderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_new_key_file_is_base64_of_32_bytes_private_and_never_overwritten()
    {
        var path = Path.Combine(_dir, "master.key");
        var id = FileMasterKeyProvider.CreateKeyFile(path);
        var text = File.ReadAllText(path).Trim();
        Assert.Equal(32, Convert.FromBase64String(text).Length);
        Assert.Matches("^mk-[0-9a-f]{16}$", id);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        using var provider = FileMasterKeyProvider.Open(path);
        Assert.Equal(id, provider.KeyId);
        Assert.Throws<IOException>(() => FileMasterKeyProvider.CreateKeyFile(path));
        Assert.Equal(text, File.ReadAllText(path).Trim());
    }

    [Fact]
    public void A_file_of_32_raw_bytes_is_the_same_key_as_its_base64()
    {
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        File.WriteAllBytes(Path.Combine(_dir, "raw"), key);
        File.WriteAllText(Path.Combine(_dir, "b64"), Convert.ToBase64String(key) + "\r\n");
        using var raw = FileMasterKeyProvider.Open(Path.Combine(_dir, "raw"));
        using var b64 = FileMasterKeyProvider.Open(Path.Combine(_dir, "b64"));
        Assert.Equal(raw.KeyId, b64.KeyId);
        var material = new byte[32];
        var wrapped = raw.Wrap(Guid.Empty, material);
        Assert.Equal(material, b64.Unwrap(b64.KeyId, Guid.Empty, wrapped));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a key")]
    [InlineData("AAAA")]
    public void A_malformed_or_missing_file_is_one_clear_line(string content)
    {
        var path = Path.Combine(_dir, "bad");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<MasterKeyException>(() => FileMasterKeyProvider.Open(path));
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains(path, ex.Message);

        var missing = Assert.Throws<MasterKeyException>(() => FileMasterKeyProvider.Open(Path.Combine(_dir, "missing")));
        Assert.DoesNotContain('\n', missing.Message);
    }

    [Fact]
    public void Wrapping_is_bound_to_the_data_key_id_and_a_wrong_master_key_is_named()
    {
        using var master = FileMasterKeyProvider.FromKey(new byte[32]);
        using var other = FileMasterKeyProvider.FromKey(Enumerable.Repeat((byte)7, 32).ToArray());
        using var dataKey = DataKey.Generate();
        var wrapped = master.Wrap(dataKey.Id, dataKey.ExportKeyMaterial());
        Assert.Equal(dataKey.ExportKeyMaterial(), master.Unwrap(master.KeyId, dataKey.Id, wrapped));
        Assert.Equal(-1, wrapped.AsSpan().IndexOf(dataKey.ExportKeyMaterial()));

        Assert.Throws<MasterKeyException>(() => master.Unwrap(master.KeyId, Guid.NewGuid(), wrapped)); // moved to another id
        var wrong = Assert.Throws<MasterKeyException>(() => other.Unwrap(master.KeyId, dataKey.Id, wrapped));
        Assert.Contains(master.KeyId, wrong.Message);
        Assert.Contains(other.KeyId, wrong.Message);
        var damaged = (byte[])wrapped.Clone();
        damaged[^1] ^= 1;
        Assert.Throws<MasterKeyException>(() => master.Unwrap(master.KeyId, dataKey.Id, damaged));
    }
}
