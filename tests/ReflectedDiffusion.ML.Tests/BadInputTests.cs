using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>Bad rows and settings through the API: a clear error naming the column, row, feature or option; never a silent value.</summary>
[Collection(TorchCollection.Name)]
public sealed class BadInputTests
{
    private static IDataView Rows(MLContext ml, params float[][] rows) => ml.Data.LoadFromEnumerable(rows.Select(r => new VectorRow { Features = r }).ToList());

    private static float[][] Good(int n) => Enumerable.Range(0, n).Select(i => new[] { 0.1f + 0.01f * i, 0.5f, 0.9f - 0.01f * i }).ToArray();

    [Fact]
    public void ScoringNamesTheRowThatIsShortOrNotFinite()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelFileIntegrityTests.TinyModel(ml, out _);
        var rows = Good(12);
        // Row 5 one value short: once scored with row 4's last value (the reader reused its buffer); now refused.
        var shortRow = rows.Select((r, i) => i == 5 ? r[..2] : r).ToArray();
        var e = Assert.Throws<InvalidOperationException>(() => model.Transform(Rows(ml, shortRow)).GetColumn<float>("LogLikelihood").ToArray());
        Assert.Contains("Column 'Features', row 5: 2 values; every row must have 3", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => model.ScoreBatched(Rows(ml, shortRow), batchSize: 4));
        Assert.Contains("row 5: 2 values", e.Message);
        // ML.NET's row-at-a-time engine refuses the same row with its own exception.
        using var engine = ml.Model.CreatePredictionEngine<VectorRow, Scored>(model);
        Assert.ThrowsAny<ArgumentException>(() => engine.Predict(new VectorRow { Features = shortRow[5] }));

        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var withBad = rows.Select((r, i) => i == 7 ? [r[0], bad, r[2]] : r).ToArray();
            e = Assert.Throws<InvalidOperationException>(() => model.Transform(Rows(ml, withBad)).GetColumn<float>("Score").ToArray());
            Assert.Contains($"Column 'Features', row 7, feature 1: value {bad} is not finite", e.Message);
        }

        // Outside the bounds is not an error when scoring: such rows lie outside the model's support.
        var outside = model.Transform(Rows(ml, [0.5f, 1.5f, 0.5f], [0.5f, 0.5f, 0.5f])).GetColumn<float>("LogLikelihood").ToArray();
        Assert.Equal(float.NegativeInfinity, outside[0]);
        Assert.True(float.IsFinite(outside[1]));
        // An empty view scores to an empty view.
        Assert.Empty(model.Transform(Rows(ml)).GetColumn<float>("LogLikelihood"));
    }

    private sealed class Scored
    {
        public float LogLikelihood { get; set; }
    }

    [Fact]
    public void TrainingNamesEmptyDataConstantColumnsAndBadRows()
    {
        var ml = new MLContext(seed: 1);
        var options = new ReflectedDiffusionOptions { NumberOfSteps = 5, HiddenWidth = 8, Blocks = 1, SigmaMin = 0.05, LikelihoodSteps = 2 };
        Assert.Contains("Column 'Features' has no rows to train on",
            Assert.Throws<InvalidOperationException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(Rows(ml))).Message);
        // Data bounds need a range in every feature: a single row, or a constant column, has none.
        var constant = Good(10).Select(r => new[] { r[0], 0.5f, r[2] }).ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(Rows(ml, constant)));
        Assert.Equal(nameof(ReflectedDiffusionOptions.Bounds), e.ParamName);
        Assert.Contains("feature 1 has the same value 0.5 in all 10 rows", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(Rows(ml, Good(1))));
        Assert.Contains("feature 0 has the same value 0.1 in all 1 rows", e.Message);
        // With explicit or unit bounds, a constant column and a single row train.
        var unit = new ReflectedDiffusionOptions { Bounds = BoundsSource.Unit, NumberOfSteps = 5, HiddenWidth = 8, Blocks = 1, SigmaMin = 0.05, LikelihoodSteps = 2, Threshold = 1 };
        using (var one = ml.Transforms.ReflectedDiffusion(unit).Fit(Rows(ml, Good(1)))) Assert.Equal(3, one.Generator.Dimension);

        var shortRow = Good(10).Select((r, i) => i == 4 ? r[..2] : r).ToArray();
        Assert.Contains("row 4: 2 values", Assert.Throws<InvalidOperationException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(Rows(ml, shortRow))).Message);
        var nan = Good(10).Select((r, i) => i == 6 ? [r[0], r[1], float.NaN] : r).ToArray();
        Assert.Contains("row 6, feature 2: value NaN is not finite", Assert.Throws<InvalidOperationException>(() => ml.Transforms.ReflectedDiffusion(options).Fit(Rows(ml, nan))).Message);
    }

    [Fact]
    public void GenerationNamesCountGuidanceAndLabels()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelFileIntegrityTests.TinyModel(ml, out _);
        var generator = model.Generator;
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(0)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(-3)).ParamName);
        foreach (var g in new[] { -1, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(2, new GenerationOptions { Guidance = g }));
            Assert.Equal(nameof(GenerationOptions.Guidance), e.ParamName);
        }
        Assert.Equal(nameof(GenerationOptions.Steps), Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(2, new GenerationOptions { Steps = 0 })).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => generator.Generate(2, null, [0, 0])).ParamName);
        // Guidance on an unconditional model is refused, not ignored.
        Assert.Contains("conditional model", Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(2, new GenerationOptions { Guidance = 1 })).Message);
    }
}
