using Nv.Wal;

namespace Nv.Host.Pipeline;

/// <summary>The outcome of one item of a batch.</summary>
/// <param name="Index">The item's position in the request (0-based).</param>
/// <param name="Operation">What the item asked for.</param>
/// <param name="DtoType">Entity type.</param>
/// <param name="EntityId">Entity id.</param>
/// <param name="Status">What became of it.</param>
/// <param name="Lsn">The batch's LSN (the entity's new version when applied); <see cref="Lsn.None"/> when the batch was
/// refused before it reached the WAL.</param>
public sealed record BatchItemOutcome(int Index, BatchOperation Operation, string DtoType, string EntityId, BatchItemStatus Status, Lsn Lsn);
