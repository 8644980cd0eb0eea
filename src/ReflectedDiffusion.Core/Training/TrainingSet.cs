using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>One training row: features already mapped to the unit box, and a class index (ignored by unconditional sets).</summary>
public readonly record struct TrainingRow(float[] Features, long Label = 0);

/// <summary>
/// Training data in the unit box. Batches are a pure function of (seed, step), so a run resumed from a
/// checkpoint sees exactly the batches the uninterrupted run would have seen.
/// </summary>
public abstract class TrainingSet
{
    /// <summary>Number of features per row.</summary>
    public abstract int Dimension { get; }
    /// <summary>Number of classes (labels lie in [0, NumClasses)); 0 for unlabelled data.</summary>
    public abstract int NumClasses { get; }

    /// <summary>Opens the batch stream that starts at <paramref name="startStep"/>.</summary>
    internal abstract IBatchStream Open(ulong seed, long startStep, int batchSize, Device device);

    /// <summary>
    /// Reads rows from <paramref name="openRows"/>: kept in memory while they fit in <paramref name="memoryBudgetBytes"/>,
    /// otherwise streamed (re-enumerated each pass) through a shuffle buffer of that size.
    /// </summary>
    public static TrainingSet FromRows(Func<IEnumerable<TrainingRow>> openRows, int dimension, int numClasses, long memoryBudgetBytes = 1L << 30)
    {
        ArgumentNullException.ThrowIfNull(openRows);
        long bytesPerRow = 4L * dimension + 8;
        long capacity = System.Math.Max(1, memoryBudgetBytes / bytesPerRow);
        var rows = new List<TrainingRow>();
        long index = 0;
        foreach (var row in openRows())
        {
            RowValidation.Check(row, index++, dimension, numClasses);
            rows.Add(row);
            if (rows.Count > capacity)
                return new StreamingTrainingSet(openRows, dimension, numClasses, (int)System.Math.Min(capacity, int.MaxValue));
        }
        return InMemoryTrainingSet.FromRows(rows, dimension, numClasses);
    }
}

internal interface IBatchStream : IDisposable
{
    /// <summary>The next batch: features [B, d] float32 and labels [B] int64 (null when unlabelled).</summary>
    (Tensor Features, Tensor? Labels) Next();
}

internal static class RowValidation
{
    public static void Check(in TrainingRow row, long index, int dimension, int numClasses)
    {
        if (row.Features is null || row.Features.Length != dimension)
            throw new ArgumentException($"Row {index} has {row.Features?.Length ?? 0} features; expected {dimension}.");
        for (int j = 0; j < dimension; j++)
        {
            float v = row.Features[j];
            if (float.IsNaN(v) || float.IsInfinity(v))
                throw new ArgumentException($"Row {index}, feature {j}: value {v} is not finite.");
            if (v < 0f || v > 1f)
                throw new ArgumentOutOfRangeException(nameof(row), v, $"Row {index}, feature {j}: value {v} lies outside the unit box [0, 1]; map the data into its bounds first.");
        }
        if (numClasses > 0 && (row.Label < 0 || row.Label >= numClasses))
            throw new ArgumentOutOfRangeException(nameof(row), row.Label, $"Row {index}: label {row.Label} lies outside [0, {numClasses}).");
    }
}

/// <summary>Rows held in one tensor; each epoch is a fresh permutation derived from (seed, epoch).</summary>
public sealed class InMemoryTrainingSet : TrainingSet
{
    private readonly Tensor _features;
    private readonly Tensor? _labels;
    private readonly int _numClasses;

    /// <summary>Wraps features [N, d] in the unit box and optional labels [N] in [0, numClasses). Validates every row.</summary>
    public InMemoryTrainingSet(Tensor features, Tensor? labels = null, int numClasses = 0)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 2 || features.shape[0] == 0)
            throw new ArgumentException($"Features must be a non-empty [N, d] tensor; got shape [{string.Join(", ", features.shape)}].", nameof(features));
        if (labels is not null && (labels.dim() != 1 || labels.shape[0] != features.shape[0]))
            throw new ArgumentException($"Labels must have shape [{features.shape[0]}].", nameof(labels));
        if (labels is not null && numClasses <= 0)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "Labelled data needs a positive number of classes.");
        _features = features.detach().to(float32).cpu().contiguous();
        _labels = labels?.detach().to(int64).cpu().contiguous();
        _numClasses = labels is null ? 0 : numClasses;
        ValidateAll();
    }

    internal static InMemoryTrainingSet FromRows(List<TrainingRow> rows, int dimension, int numClasses)
    {
        if (rows.Count == 0) throw new ArgumentException("The training data has no rows.");
        var flat = new float[rows.Count * (long)dimension];
        for (int i = 0; i < rows.Count; i++) rows[i].Features.CopyTo(flat, (long)i * dimension);
        using var x = torch.tensor(flat, [rows.Count, dimension]);
        using var y = numClasses > 0 ? torch.tensor(rows.Select(r => r.Label).ToArray()) : null;
        return new InMemoryTrainingSet(x, y, numClasses);
    }

    /// <inheritdoc />
    public override int Dimension => (int)_features.shape[1];
    /// <inheritdoc />
    public override int NumClasses => _numClasses;
    /// <summary>Number of rows.</summary>
    public long Count => _features.shape[0];

    private void ValidateAll()
    {
        using var scope = NewDisposeScope();
        var bad = (~torch.isfinite(_features)) | (_features < 0) | (_features > 1);
        if (bad.any().item<bool>())
        {
            long flat = bad.flatten().nonzero()[0, 0].item<long>();
            long row = flat / Dimension; int col = (int)(flat % Dimension);
            RowValidation.Check(new TrainingRow(_features[row].data<float>().ToArray()), row, Dimension, 0);
            throw new ArgumentException($"Row {row}, feature {col} is invalid.");
        }
        if (_labels is not null)
        {
            var badLabel = (_labels < 0) | (_labels >= _numClasses);
            if (badLabel.any().item<bool>())
            {
                long row = badLabel.nonzero()[0, 0].item<long>();
                throw new ArgumentOutOfRangeException("labels", $"Row {row}: label {_labels[row].item<long>()} lies outside [0, {_numClasses}).");
            }
        }
    }

    internal override IBatchStream Open(ulong seed, long startStep, int batchSize, Device device) => new Stream(this, seed, startStep, batchSize, device);

    private sealed class Stream(InMemoryTrainingSet set, ulong seed, long startStep, int batchSize, Device device) : IBatchStream
    {
        private long _position = startStep * batchSize;
        private long _epoch = -1;
        private long[] _permutation = [];

        public (Tensor Features, Tensor? Labels) Next()
        {
            long n = set.Count;
            var index = new long[batchSize];
            for (int i = 0; i < batchSize; i++, _position++)
            {
                long epoch = _position / n;
                if (epoch != _epoch) Permute(epoch);
                index[i] = _permutation[_position % n];
            }
            using var idx = torch.tensor(index);
            var x = set._features.index_select(0, idx).to(device);
            var y = set._labels?.index_select(0, idx).to(device);
            return (x, y);
        }

        private void Permute(long epoch)
        {
            using var gen = new Generator((ulong)CounterRng.TorchSeed(seed, 0xDA7A, (ulong)epoch));
            using var perm = torch.randperm(set.Count, generator: gen);
            _permutation = perm.data<long>().ToArray();
            _epoch = epoch;
        }

        public void Dispose() { }
    }
}

/// <summary>
/// Rows streamed from a re-enumerable source through a shuffle buffer: for data larger than the memory budget.
/// A draw picks a buffer slot by a counter-based hash of (seed, draw) and refills it with the next row
/// (the source is re-enumerated at its end), so the stream is reproducible and resumable.
/// </summary>
public sealed class StreamingTrainingSet : TrainingSet
{
    private readonly Func<IEnumerable<TrainingRow>> _open;

    /// <summary>Streams rows from <paramref name="openRows"/> through a shuffle buffer of <paramref name="bufferRows"/> rows.</summary>
    public StreamingTrainingSet(Func<IEnumerable<TrainingRow>> openRows, int dimension, int numClasses, int bufferRows)
    {
        ArgumentNullException.ThrowIfNull(openRows);
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "Dimension must be positive.");
        if (numClasses < 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "NumClasses must not be negative.");
        if (bufferRows <= 0) throw new ArgumentOutOfRangeException(nameof(bufferRows), bufferRows, "The shuffle buffer needs at least one row.");
        _open = openRows;
        Dimension = dimension;
        NumClasses = numClasses;
        BufferRows = bufferRows;
    }

    /// <inheritdoc />
    public override int Dimension { get; }
    /// <inheritdoc />
    public override int NumClasses { get; }
    /// <summary>Rows held in the shuffle buffer.</summary>
    public int BufferRows { get; }

    internal override IBatchStream Open(ulong seed, long startStep, int batchSize, Device device)
    {
        var stream = new Stream(this, seed, batchSize, device);
        stream.Skip(startStep * batchSize);
        return stream;
    }

    private sealed class Stream(StreamingTrainingSet set, ulong seed, int batchSize, Device device) : IBatchStream
    {
        private readonly List<TrainingRow> _buffer = new();
        private IEnumerator<TrainingRow>? _source;
        private long _rowIndex, _draw;

        // The next row of the current pass, or null (and a new pass armed) at its end.
        private TrainingRow? TryReadFromPass()
        {
            _source ??= set._open().GetEnumerator();
            if (_source.MoveNext())
            {
                var row = _source.Current;
                RowValidation.Check(row, _rowIndex++, set.Dimension, set.NumClasses);
                return row;
            }
            if (_rowIndex == 0) throw new ArgumentException("The training data has no rows.");
            _source.Dispose(); _source = null; _rowIndex = 0;
            return null;
        }

        private TrainingRow ReadWrapping() => TryReadFromPass() ?? TryReadFromPass()
            ?? throw new InvalidOperationException("The row source yielded no rows on a later pass.");

        private TrainingRow Draw()
        {
            if (_buffer.Count == 0)
            {
                // Fill once; data shorter than the buffer fills it partly.
                while (_buffer.Count < set.BufferRows && TryReadFromPass() is { } row) _buffer.Add(row);
            }
            int slot = (int)(CounterRng.Hash(seed, 0x5EED, (ulong)_draw++) % (ulong)_buffer.Count);
            var drawn = _buffer[slot];
            _buffer[slot] = ReadWrapping();
            return drawn;
        }

        public void Skip(long draws) { for (long i = 0; i < draws; i++) Draw(); }

        public (Tensor Features, Tensor? Labels) Next()
        {
            var flat = new float[(long)batchSize * set.Dimension];
            var labels = set.NumClasses > 0 ? new long[batchSize] : null;
            for (int i = 0; i < batchSize; i++)
            {
                var row = Draw();
                row.Features.CopyTo(flat, (long)i * set.Dimension);
                if (labels is not null) labels[i] = row.Label;
            }
            var x = torch.tensor(flat, [batchSize, set.Dimension]).to(device);
            var y = labels is null ? null : torch.tensor(labels).to(device);
            return (x, y);
        }

        public void Dispose() => _source?.Dispose();
    }
}
