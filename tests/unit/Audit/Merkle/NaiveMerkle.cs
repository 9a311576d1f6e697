using System.Security.Cryptography;

namespace Nv.Unit.Tests.Audit.Merkle;

/// <summary>
/// A deliberately simple transcription of the RFC 9162 §2.1 definitions (MTH, PATH, PROOF/SUBPROOF) over byte arrays,
/// sharing no code with Nv.Audit.Merkle, so the production tree and verifiers are checked against an independent oracle.
/// </summary>
internal static class NaiveMerkle
{
    public static byte[] LeafHash(byte[] data) => SHA256.HashData([0x00, .. data]);

    public static byte[] NodeHash(byte[] left, byte[] right) => SHA256.HashData([0x01, .. left, .. right]);

    /// <summary>MTH(D[n]) where D is given as leaf hashes.</summary>
    public static byte[] Root(IReadOnlyList<byte[]> leafHashes) => Mth(leafHashes, 0, leafHashes.Count);

    /// <summary>PATH(m, D[n]), bottom first.</summary>
    public static List<byte[]> Path(IReadOnlyList<byte[]> leaves, int m, int n) => PathOf(leaves, m, 0, n);

    /// <summary>PROOF(m, D[n]), bottom first.</summary>
    public static List<byte[]> Proof(IReadOnlyList<byte[]> leaves, int m, int n) =>
        m == 0 || m == n ? [] : SubProof(leaves, m, 0, n, true);

    private static byte[] Mth(IReadOnlyList<byte[]> d, int start, int n)
    {
        if (n == 0)
        {
            return SHA256.HashData(Array.Empty<byte>());
        }

        if (n == 1)
        {
            return d[start];
        }

        var k = SplitPoint(n);
        return NodeHash(Mth(d, start, k), Mth(d, start + k, n - k));
    }

    private static List<byte[]> PathOf(IReadOnlyList<byte[]> d, int m, int start, int n)
    {
        if (n == 1)
        {
            return [];
        }

        var k = SplitPoint(n);
        if (m < k)
        {
            var path = PathOf(d, m, start, k);
            path.Add(Mth(d, start + k, n - k));
            return path;
        }
        else
        {
            var path = PathOf(d, m - k, start + k, n - k);
            path.Add(Mth(d, start, k));
            return path;
        }
    }

    private static List<byte[]> SubProof(IReadOnlyList<byte[]> d, int m, int start, int n, bool b)
    {
        if (m == n)
        {
            return b ? [] : [Mth(d, start, m)];
        }

        var k = SplitPoint(n);
        if (m <= k)
        {
            var proof = SubProof(d, m, start, k, b);
            proof.Add(Mth(d, start + k, n - k));
            return proof;
        }
        else
        {
            var proof = SubProof(d, m - k, start + k, n - k, false);
            proof.Add(Mth(d, start, k));
            return proof;
        }
    }

    /// <summary>The largest power of two strictly smaller than n, by counting up.</summary>
    private static int SplitPoint(int n)
    {
        var k = 1;
        while (k * 2 < n)
        {
            k *= 2;
        }

        return k;
    }
}
