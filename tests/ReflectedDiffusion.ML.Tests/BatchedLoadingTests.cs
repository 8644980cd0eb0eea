using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>A loaded model's scoring stage, batched: the same values as ML.NET's row-at-a-time chain, and the same file when saved again.</summary>
[Collection(TorchCollection.Name)]
public sealed class BatchedLoadingTests
{
    private static List<ScoredRow> Read(MLContext ml, ITransformer model, IDataView data) => ml.Data.CreateEnumerable<ScoredRow>(model.Transform(data), reuseRowObject: false).ToList();

    private static IEnumerable<ITransformer> Stages(ITransformer model)
        => model is TransformerChain<ITransformer> chain ? chain.SelectMany(Stages).Prepend(model) : [model];

    private static void AssertSame(List<ScoredRow> expected, List<ScoredRow> actual)
    {
        static bool Close(float a, float b) => a == b || System.Math.Abs(a - b) <= 1e-5 * System.Math.Max(1, System.Math.Abs(a));
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(Close(expected[i].LogLikelihood, actual[i].LogLikelihood), $"row {i}: log-likelihood {expected[i].LogLikelihood} against {actual[i].LogLikelihood}");
            Assert.True(Close(expected[i].BitsPerDimension, actual[i].BitsPerDimension), $"row {i}: bits per dimension");
            Assert.True(Close(expected[i].Score, actual[i].Score), $"row {i}: score {expected[i].Score} against {actual[i].Score}");
            Assert.Equal(expected[i].PredictedLabel, actual[i].PredictedLabel);
        }
    }

    [Fact]
    public void LoadedPipelinesScoreInBatchesWithTheChainsValuesAndSaveAsTheSameChain()
    {
        var ml = new MLContext(seed: 1).RegisterReflectedDiffusion();
        using var diffusion = ModelFileIntegrityTests.TinyModel(ml, out var data);
        // A pipeline as users build one: a stage before ours, ours nested as a chain of ML.NET stages when loaded.
        var pipeline = new TransformerChain<ITransformer>(ml.Transforms.CopyColumns("Copy", "Features").Fit(data), diffusion);
        var dir = Directory.CreateTempSubdirectory("rd-batched-load-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.zip");
            ml.Model.SaveWithManifest(pipeline, data.Schema, path);
            using var plain = (TransformerChain<ITransformer>)ml.Model.Load(path, out _);
            var rowAtATime = Read(ml, plain, data);
            Assert.Contains(rowAtATime, s => s.PredictedLabel);
            Assert.Contains(rowAtATime, s => !s.PredictedLabel);

            var batched = ml.Model.LoadVerified(path, out var schema);
            Assert.Equal(data.Schema.Select(c => c.Name), schema.Select(c => c.Name));
            Assert.Single(Stages(batched), s => s.GetType().Name == "BatchedScoringTransformer");
            Assert.DoesNotContain(Stages(plain), s => s.GetType().Name == "BatchedScoringTransformer");
            Assert.Equal(plain.GetOutputSchema(data.Schema).Select(c => (c.Name, c.Type)), batched.GetOutputSchema(data.Schema).Select(c => (c.Name, c.Type)));
            AssertSame(rowAtATime, Read(ml, batched, data));

            // Prediction engines keep the chain's row-to-row path; the evaluator reads the columns as they are.
            var engine = ml.Model.CreatePredictionEngine<VectorRow, ScoredRow>(batched);
            var first = engine.Predict(ml.Data.CreateEnumerable<VectorRow>(data, reuseRowObject: false).First());
            AssertSame(rowAtATime.Take(1).ToList(), [first]);

            // Saved again, the file holds ML.NET's built-in chain, which loads and scores as before.
            using var again = new MemoryStream();
            ml.Model.Save(batched, schema, again);
            again.Position = 0;
            var reloaded = new MLContext().RegisterReflectedDiffusion().Model.Load(again, out _);
            Assert.DoesNotContain(Stages(reloaded), s => s.GetType().Name == "BatchedScoringTransformer");
            AssertSame(rowAtATime, Read(ml, reloaded, data));
            again.Position = 0;
            AssertSame(rowAtATime, Read(ml, new MLContext().RegisterReflectedDiffusion().Model.LoadBatched(again, out _, scoringBatchSize: 5), data));
            (batched as IDisposable)?.Dispose();
            (reloaded as IDisposable)?.Dispose();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
