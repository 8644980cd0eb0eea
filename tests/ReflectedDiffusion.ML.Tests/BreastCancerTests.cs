using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace ReflectedDiffusion.ML.Tests;

[Collection(TorchCollection.Name)]
public sealed class BreastCancerTests(ITestOutputHelper output)
{
    public sealed class CancerRow
    {
        [VectorType(30)] public float[] Features = [];
        public bool IsMalignant;
    }

    public sealed class LikelihoodOnly { public float LogLikelihood; }

    public sealed class AnomalyScore
    {
        public float Score;
        /// <summary>Less likely than under the uniform density; the evaluator wants a decision column, the AUC ignores it.</summary>
        public bool PredictedLabel;
    }

    private static List<CancerRow> Load()
        => File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "breast_cancer.csv")).Skip(1).Where(l => l.Length > 0).Select(line =>
        {
            var parts = line.Split(',');
            return new CancerRow
            {
                Features = parts.Take(30).Select(p => float.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
                IsMalignant = parts[30].Trim() == "0",
            };
        }).ToList();

    [Fact]
    public void NegativeLogLikelihoodDetectsMalignantTumours()
    {
        // Protocol: train on two thirds of the benign rows; score the other benign rows and every malignant row; the
        // anomaly score is -LogLikelihood. NormalizeMinMax is fitted on the training rows; the bounds are theirs widened
        // by half the range on each side, so rows beyond lie outside the model's support (LogLikelihood = -inf: the most
        // anomalous; mapped to float.MaxValue because ML.NET's evaluator does not rank infinities). sigma_min = 0.1
        // acts as the density's bandwidth on 238 training rows in 30 dimensions.
        var ml = new MLContext(seed: 1);
        var all = Load();
        var benign = all.Where(r => !r.IsMalignant).ToList();
        var train = benign.Where((_, i) => i % 3 != 2).ToList();
        var test = benign.Where((_, i) => i % 3 == 2).Concat(all.Where(r => r.IsMalignant)).ToList();
        var options = new ReflectedDiffusionOptions
        {
            Bounds = BoundsSource.Data, BoundsMargin = 0.5, SigmaMin = 0.1, NumberOfSteps = 1000, BatchSize = 128, HiddenWidth = 128, Blocks = 2,
            LikelihoodSteps = 60, Seed = 7,
        };
        var model = ml.Transforms.NormalizeMinMax("Features").Append(ml.Transforms.ReflectedDiffusion(options)).Fit(ml.Data.LoadFromEnumerable(train));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));
        var withScore = ml.Transforms.CustomMapping<LikelihoodOnly, AnomalyScore>((i, o) =>
        {
            o.Score = float.IsNegativeInfinity(i.LogLikelihood) ? float.MaxValue : -i.LogLikelihood;
            o.PredictedLabel = i.LogLikelihood < 0;
        }, contractName: null).Fit(scored).Transform(scored);
        var metrics = ml.BinaryClassification.EvaluateNonCalibrated(withScore, labelColumnName: nameof(CancerRow.IsMalignant), scoreColumnName: "Score");
        var ll = scored.GetColumn<float>("LogLikelihood").ToArray();
        output.WriteLine($"AUC of -LogLikelihood for malignant rows: {metrics.AreaUnderRocCurve:F4}; outside the bounds: " +
                         $"{test.Where((r, i) => r.IsMalignant && float.IsNegativeInfinity(ll[i])).Count()} of 212 malignant, " +
                         $"{test.Where((r, i) => !r.IsMalignant && float.IsNegativeInfinity(ll[i])).Count()} of 119 benign");
        // Measured 0.975 here (a full-covariance Gaussian reaches about 0.96, an isolation forest about 0.957,
        // ML.NET's RandomizedPca about 0.5); asserted with a margin for other machines' floating point.
        Assert.True(metrics.AreaUnderRocCurve > 0.95, $"AUC {metrics.AreaUnderRocCurve}");
        (model as IDisposable)?.Dispose();
    }
}
