namespace Nv.Smoke.Tests.PowerLoss;

/// <summary>What an image was built from (printed with every failure, so it can be rebuilt from the seed).</summary>
internal sealed record ImageInfo(int Cut, ImagePolicy Policy, int Seed, int DurableChanges, int KeptMaybe, int DroppedMaybe, int Torn, int Filled)
{
    public override string ToString() =>
        $"cut at trace line {Cut}, {Policy}, image seed {Seed}: {DurableChanges} durable changes, {KeptMaybe} of {KeptMaybe + DroppedMaybe} non-durable kept, {Torn} torn, {Filled} tails filled with newer bytes";
}
