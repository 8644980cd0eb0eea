using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>
/// Training on more rows than <see cref="ReflectedDiffusionOptions.MaxRowsInMemory"/>: the rows stream from the data view
/// (one pass for the bounds, then a shuffle buffer), and at or below the limit training is exactly the in-memory one.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class StreamingTrainingTests
{
    private const int Rows = 3000;

    // A curved ridge in three features, computed from the row index: the view re-enumerates it for every cursor and
    // counts the rows it hands out.
    private sealed class RidgeRows(int count, int badRow = -1)
    {
        public long Served;

        public IEnumerable<VectorRow> Enumerate()
        {
            for (int i = 0; i < count; i++)
            {
                Served++;
                double u = (i * 0.6180339887498949) % 1.0, v = (i * 0.7548776662466927) % 1.0;
                float x = (float)(0.1 + 0.8 * u), y = (float)(0.2 + 0.6 * u * u + 0.1 * v);
                yield return new VectorRow { Features = [x, y, i == badRow ? 1.5f : (float)(0.3 + 0.4 * v)] };
            }
        }
    }

    private static ReflectedDiffusionOptions Options(MLContext ml, int maxRowsInMemory) => new()
    {
        Bounds = BoundsSource.Explicit, LowerBounds = [0, 0, 0], UpperBounds = [1, 1, 1], SigmaMin = 0.05, NumberOfSteps = 150, BatchSize = 64,
        HiddenWidth = 32, Blocks = 1, LikelihoodSteps = 8, Seed = 4, MaxRowsInMemory = maxRowsInMemory, Context = ml,
    };

    private static float[] Scores(MLContext ml, ITransformer model, IDataView data) => model.Transform(data).GetColumn<float>("LogLikelihood").ToArray();

    [Fact]
    public void MoreRowsThanTheLimitStreamReproduciblyAndLearnTheData()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "ReflectedDiffusion") lock (messages) messages.Add(e.Message); };
        var source = new RidgeRows(Rows);
        var data = ml.Data.LoadFromEnumerable(source.Enumerate()); // re-enumerated per cursor: nothing is held by the view
        var held = ml.Data.LoadFromEnumerable(new RidgeRows(Rows + 200).Enumerate().Skip(Rows).ToList());

        using var streamed = ml.Transforms.ReflectedDiffusion(Options(ml, 500)).Fit(data);
        Assert.Contains(messages, m => m.Contains("more than MaxRowsInMemory (500), so the rows stream through a shuffle buffer"));
        // One scan of every row, then the buffer's 500 rows and one row per training draw, and the threshold's 1000 rows were
        // scored from the scan's sample: far fewer rows than a second full pass per epoch would read.
        Assert.Equal(Rows + 500 + 150 * 64, source.Served);
        using var again = ml.Transforms.ReflectedDiffusion(Options(ml, 500)).Fit(data);
        Assert.Equal(Scores(ml, streamed, held), Scores(ml, again, held));

        using var inMemory = ml.Transforms.ReflectedDiffusion(Options(ml, Rows)).Fit(data);
        double meanStreamed = Scores(ml, streamed, held).Average(), meanInMemory = Scores(ml, inMemory, held).Average();
        // The ridge has about 1.5 nats of log-density in the unit box; both learn it to within the same short budget.
        Assert.True(meanStreamed > 0.5 && meanInMemory > 0.5, $"held-out mean log-likelihood: streamed {meanStreamed:F3}, in memory {meanInMemory:F3}");
        Assert.True(System.Math.Abs(meanStreamed - meanInMemory) < 0.3, $"streamed {meanStreamed:F3} vs in memory {meanInMemory:F3}");
    }

    [Fact]
    public void AtOrBelowTheLimitTrainingIsTheInMemoryOneBitForBit()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new RidgeRows(600).Enumerate().ToList());
        var options = Options(ml, 600);
        options.Bounds = BoundsSource.Data;
        options.SigmaMin = null; // the bandwidth choice and the threshold go through the same scan
        options.SigmaMinCandidates = [0.03, 0.1];
        options.NumberOfSteps = 40;
        using var atLimit = ml.Transforms.ReflectedDiffusion(options).Fit(data);
        options.MaxRowsInMemory = 1_000_000;
        using var defaults = ml.Transforms.ReflectedDiffusion(options).Fit(data);
        Assert.Equal(defaults.LossTrace, atLimit.LossTrace);
        Assert.Equal(defaults.Threshold, atLimit.Threshold);
        Assert.Equal(Scores(ml, defaults, data), Scores(ml, atLimit, data));
    }

    [Fact]
    public void AStreamedRowOutsideTheBoundsIsNamedEvenWhereTrainingWouldNotReachIt()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new RidgeRows(Rows, badRow: 2900).Enumerate());
        var options = Options(ml, 500);
        options.NumberOfSteps = 2;
        var e = Assert.ThrowsAny<ArgumentException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(data));
        Assert.Contains("Row 2900", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReflectedDiffusionOptions { MaxRowsInMemory = 0 }.Validate());
    }
}
