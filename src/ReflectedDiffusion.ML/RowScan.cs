namespace ReflectedDiffusion.ML;

/// <summary>
/// The one pass over the training rows before training: the rows themselves while there are at most
/// <c>maxRowsInMemory</c> of them, and always their count, each feature's observed range, the largest class index and the
/// anomaly threshold's seeded sample. Past the limit the rows are dropped (training then streams them) and, when asked,
/// a seeded sample of <c>maxRowsInMemory</c> rows is kept for choosing the bandwidth.
/// </summary>
internal sealed class RowScan
{
    /// <summary>Hash salt of the threshold's sample (the one the in-memory path has always used).</summary>
    private const ulong ThresholdSalt = 0x7A5E;
    private const ulong SelectionSalt = 0x5A3F;

    private RowScan(int dimension)
    {
        Lower = Enumerable.Repeat(double.PositiveInfinity, dimension).ToArray();
        Upper = Enumerable.Repeat(double.NegativeInfinity, dimension).ToArray();
    }

    /// <summary>The rows, when they fit; null when training must stream them.</summary>
    public List<float[]>? Rows { get; private set; } = [];
    /// <summary>The class index of every row in <see cref="Rows"/>.</summary>
    public List<long>? Labels { get; private set; } = [];
    /// <summary>Number of rows.</summary>
    public long Count { get; private set; }
    /// <summary>Smallest value of each feature.</summary>
    public double[] Lower { get; }
    /// <summary>Largest value of each feature.</summary>
    public double[] Upper { get; }
    /// <summary>The largest class index (0 without labels).</summary>
    public long LargestLabel { get; private set; }
    /// <summary>The rows whose scores set the anomaly threshold.</summary>
    public required HashSample ThresholdSample { get; init; }
    /// <summary>When streaming with the bandwidth to choose: the rows it is chosen on.</summary>
    public HashSample? SelectionSample { get; private set; }
    /// <summary>Whether training streams the rows.</summary>
    public bool Streaming => Rows is null;

    /// <summary>Reads <paramref name="rows"/> once.</summary>
    public static RowScan Read(IEnumerable<(float[] Features, long Label)> rows, int dimension, int maxRowsInMemory, bool sampleForSelection, ulong seed)
    {
        var scan = new RowScan(dimension) { ThresholdSample = new HashSample(AnomalyThreshold.MaximumRows, seed, ThresholdSalt) };
        foreach (var (features, label) in rows)
        {
            for (int j = 0; j < dimension; j++)
            {
                scan.Lower[j] = System.Math.Min(scan.Lower[j], features[j]);
                scan.Upper[j] = System.Math.Max(scan.Upper[j], features[j]);
            }
            scan.LargestLabel = System.Math.Max(scan.LargestLabel, label);
            scan.ThresholdSample.Add(scan.Count, features, label);
            if (scan.Rows is not null)
            {
                scan.Rows.Add(features);
                scan.Labels!.Add(label);
                if (scan.Rows.Count > maxRowsInMemory) scan.StartStreaming(sampleForSelection, maxRowsInMemory, seed);
            }
            else
                scan.SelectionSample?.Add(scan.Count, features, label);
            scan.Count++;
        }
        return scan;
    }

    // Drops the rows held so far, offering them to the selection sample first.
    private void StartStreaming(bool sampleForSelection, int size, ulong seed)
    {
        if (sampleForSelection)
        {
            SelectionSample = new HashSample(size, seed, SelectionSalt);
            for (int i = 0; i < Rows!.Count; i++) SelectionSample.Add(i, Rows[i], Labels![i]);
        }
        Rows = null;
        Labels = null;
    }
}
