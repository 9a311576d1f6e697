using Nv.Smoke.Tests.Support;
using Nv.Smoke.Tests.Wal;

namespace Nv.Smoke.Tests.Verify;

/// <summary>Runs the independent Python verifier (docs/audit_verify_reference.py) on an audit store: every chain, every
/// Merkle leaf, every stored checkpoint's size and root, and (with the public key and the <c>cryptography</c> package)
/// every checkpoint signature.</summary>
internal static class PythonVerifier
{
    private static readonly Lazy<string?> PythonProblem = new(() =>
        FaultTools.Run("python3", "-c", "import sqlite3, hashlib, json").Exit == 0 ? null : "python3 (with sqlite3) is not installed");

    private static readonly Lazy<bool> HasCryptography = new(() => FaultTools.Run("python3", "-c", "import cryptography").Exit == 0);

    public static string Script => Path.Combine(RepoPaths.Root, "docs", "audit_verify_reference.py");

    /// <summary>Null when python3 can run the verifier, otherwise why not.</summary>
    public static string? Missing => PythonProblem.Value;

    /// <summary>The verifier's verdict ("OK n entries, m checkpoints" or "BROKEN ..."), and a note when signatures could not
    /// be checked (no <c>cryptography</c> package: the roots and sizes still are).</summary>
    public static (string Verdict, string? Note) Verify(string dataDir)
    {
        var database = Path.Combine(dataDir, "audit.db");
        var publicKey = Path.Combine(dataDir, "audit-signing-key.pub.pem");
        if (HasCryptography.Value && File.Exists(publicKey))
        {
            return (FaultTools.Run("python3", Script, database, publicKey).Output.Trim(), null);
        }

        var note = File.Exists(publicKey)
            ? "checkpoint signatures not verified: the python3 'cryptography' package is missing (apt-get install python3-cryptography)"
            : "checkpoint signatures not verified: no public key file";
        return (FaultTools.Run("python3", Script, database).Output.Trim(), note);
    }
}
