using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.ML;

/// <summary>
/// A seeded sample without replacement drawn in one pass: the <c>capacity</c> rows whose counter hash of (seed, salt,
/// row index) is smallest. It is the same set as sorting all indices by that hash and taking the first, so a sample
/// drawn while streaming equals the one drawn from rows held in memory.
/// </summary>
internal sealed class HashSample(int capacity, ulong seed, ulong salt)
{
    // A max-heap on (hash, index): the top is the row to drop when a row with a smaller hash arrives.
    private readonly PriorityQueue<(long Index, float[] Row, long Label), (ulong Hash, long Index)> _heap =
        new(Comparer<(ulong Hash, long Index)>.Create((a, b) => b.CompareTo(a)));

    /// <summary>Offers row <paramref name="index"/>; it is kept while it is among the smallest hashes seen.</summary>
    public void Add(long index, float[] row, long label)
    {
        var key = (CounterRng.Hash(seed, salt, (ulong)index), index);
        if (_heap.Count < capacity) _heap.Enqueue((index, row, label), key);
        else if (_heap.TryPeek(out _, out var top) && key.CompareTo(top) < 0) _heap.DequeueEnqueue((index, row, label), key);
    }

    /// <summary>The sampled rows and their labels, in row order.</summary>
    public (List<float[]> Rows, long[] Labels) InRowOrder()
    {
        var kept = _heap.UnorderedItems.Select(e => e.Element).OrderBy(e => e.Index).ToList();
        return (kept.Select(e => e.Row).ToList(), kept.Select(e => e.Label).ToArray());
    }
}
