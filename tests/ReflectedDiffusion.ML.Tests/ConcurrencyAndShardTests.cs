using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>One fitted transformer shared by threads, and generation split into shards: the same values as one sequential run.</summary>
[Collection(TorchCollection.Name)]
public sealed class ConcurrencyAndShardTests
{
    [Fact]
    public void EightThreadsShareOneTransformerWithTheSequentialResults()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelFileIntegrityTests.TinyModel(ml, out var data);
        var rows = ml.Data.CreateEnumerable<VectorRow>(data, reuseRowObject: false).Take(24).ToList();
        var view = ml.Data.LoadFromEnumerable(rows);
        var batched = model.Transform(view).GetColumn<float>("LogLikelihood").ToArray();
        // A prediction engine is not thread-safe: one per thread, over the shared transformer. Disposing an engine
        // disposes the transformer it was made from (ML.NET's rule), so the engines live as long as the transformer.
        float[] OneByOne(PredictionEngine<VectorRow, ScoredRow> engine) => rows.Select(r => engine.Predict(r).LogLikelihood).ToArray();
        var engineRows = OneByOne(ml.Model.CreatePredictionEngine<VectorRow, ScoredRow>(model));
        var generated = model.Generator.Generate(6, new GenerationOptions { Seed = 2, Steps = 10 });

        var results = new (float[] Batched, float[] Engine, float[][] Generated)[8];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var engine = ml.Model.CreatePredictionEngine<VectorRow, ScoredRow>(model);
            start.SignalAndWait();
            // Interleave the three uses so that they overlap across threads.
            for (int round = 0; round < 3; round++)
                results[t] = (model.Transform(view).GetColumn<float>("LogLikelihood").ToArray(), OneByOne(engine),
                    model.Generator.Generate(6, new GenerationOptions { Seed = 2, Steps = 10 }));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var (b, e, g) in results)
        {
            Assert.Equal(batched, b);
            Assert.Equal(engineRows, e);
            for (int i = 0; i < generated.Length; i++) Assert.Equal(generated[i], g[i]);
        }
    }

    [Fact]
    public void GenerationShardsConcatenateToTheUnsplitRun()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelFileIntegrityTests.TinyModel(ml, out _);
        foreach (var sampler in new[] { Sampling.SamplerKind.OdeHeun, Sampling.SamplerKind.ReflectedSde, Sampling.SamplerKind.OdeAdaptive })
        {
            GenerationOptions Options(long first) => new() { Seed = 9, Steps = 12, Sampler = sampler, BatchSize = 4, FirstRow = first };
            var whole = model.Generator.Generate(12, Options(0));
            var shards = new[] { (0, 4), (4, 8), (8, 12) }.SelectMany(s => model.Generator.Generate(s.Item2 - s.Item1, Options(s.Item1))).ToArray();
            Assert.Equal(whole.Length, shards.Length);
            for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], shards[i]);
            // The stream gives the same rows, a batch at a time.
            Assert.Equal(whole, model.Generator.GenerateStream(12, Options(0)).ToArray());
        }
        Assert.Equal(nameof(GenerationOptions.FirstRow), Assert.Throws<ArgumentOutOfRangeException>(() => model.Generator.Generate(2, new GenerationOptions { FirstRow = -1 })).ParamName);
    }
}
