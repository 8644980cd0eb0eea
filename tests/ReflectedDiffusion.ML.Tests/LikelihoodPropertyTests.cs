using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>
/// A property over random small models: no row inside the bounds, faces and corners included, is ever scored NaN or
/// +infinity (log-likelihood), nor a non-finite anomaly score.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class LikelihoodPropertyTests
{
    private sealed class Row
    {
        [VectorType(3)] public float[] Features = [];
    }

    [Fact]
    public void RandomSmallModelsScoreEveryRowInsideTheBoundsFinitely()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 4; trial++)
        {
            var ml = new MLContext(seed: trial);
            // Training data: clustered near a random point, sometimes touching a face.
            var centre = Enumerable.Range(0, 3).Select(_ => rng.NextDouble()).ToArray();
            var spread = 0.02 + 0.3 * rng.NextDouble();
            var train = Enumerable.Range(0, 40 + rng.Next(80)).Select(_ => new Row
            {
                Features = [.. centre.Select(c => (float)System.Math.Clamp(c + spread * (rng.NextDouble() - 0.5), 0, 1))],
            }).ToList();
            var options = new ReflectedDiffusionOptions
            {
                Bounds = BoundsSource.Unit, SigmaMin = new[] { 0.001, 0.01, 0.05, 0.2 }[rng.Next(4)], NumberOfSteps = 5 + rng.Next(30), BatchSize = 16,
                HiddenWidth = 4 + rng.Next(16), Blocks = 1 + rng.Next(2), LearningRate = new[] { 2e-4, 2e-3, 2e-2 }[rng.Next(3)],
                LikelihoodSteps = 2 + rng.Next(10), Seed = (ulong)rng.Next(1000), Threshold = 1,
            };
            using var model = ml.Transforms.ReflectedDiffusion(options).Fit(ml.Data.LoadFromEnumerable(train));

            // Rows anywhere inside: uniform, on faces, at corners.
            var rows = Enumerable.Range(0, 64).Select(i => new Row
            {
                Features = [.. Enumerable.Range(0, 3).Select(_ => i % 3 == 0 ? (float)rng.Next(2) : i % 3 == 1 ? (float)rng.NextDouble() : (float)System.Math.Round(rng.NextDouble()))],
            }).ToList();
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
            var ll = scored.GetColumn<float>("LogLikelihood").ToArray();
            var score = scored.GetColumn<float>("Score").ToArray();
            string settings = $"trial {trial}: sigma_min {options.SigmaMin}, {options.NumberOfSteps} steps, width {options.HiddenWidth}, lr {options.LearningRate}, {options.LikelihoodSteps} RK4 steps";
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.False(float.IsNaN(ll[i]) || float.IsPositiveInfinity(ll[i]), $"{settings}: row ({string.Join(", ", rows[i].Features)}) has log-likelihood {ll[i]}");
                Assert.True(float.IsFinite(score[i]), $"{settings}: row ({string.Join(", ", rows[i].Features)}) has score {score[i]}");
            }
        }
    }
}
