using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Tables;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

[Collection(TorchCollection.Name)]
public sealed class TableTests
{
    public sealed class Row
    {
        public string Kind = "";
        public bool Flag;
        public float Size;
        public int Count;
    }

    // Two kinds apart in size; Count is 0 in a third of the rows (a point mass); Size is missing in every tenth row.
    private static Row[] Rows() => Enumerable.Range(0, 240).Select(i => new Row
    {
        Kind = i % 2 == 0 ? "small" : "large",
        Flag = i % 4 == 0,
        Size = i % 10 == 9 ? float.NaN : (i % 2 == 0 ? 1f : 3f) + 0.01f * (i % 37),
        Count = i % 3 == 0 ? 0 : 5 + i % 37,
    }).ToArray();

    [Fact]
    public void TableModelsTakeAndGiveViewsWithTheSameColumnsTypesAndConstraints()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Rows());
        using var model = ReflectedDiffusionTable.Fit(ml, data, new ReflectedDiffusionOptions { NumberOfSteps = 300, BatchSize = 120, SigmaMin = 0.01, Seed = 2 });
        Assert.Equal(ColumnKind.Categorical, model.Encoder.Schema["Kind"].Kind);
        Assert.Equal(["false", "true"], model.Encoder.Schema["Flag"].Vocabulary!);
        Assert.Equal([0.0], model.Encoder["Count"].PointMasses);
        Assert.Equal(0.1, model.Encoder.Schema["Size"].MissingRate, 6);

        var generated = model.Generate(120, new GenerationOptions { Steps = 30, Seed = 3 });
        Assert.Equal(data.Schema.Select(c => (c.Name, c.Type)), generated.Schema.Select(c => (c.Name, c.Type)));
        var kinds = generated.GetColumn<ReadOnlyMemory<char>>("Kind").Select(k => k.ToString()).ToArray();
        Assert.All(kinds, k => Assert.Contains(k, new[] { "small", "large" }));
        Assert.Equal(120, generated.GetColumn<bool>("Flag").Count());
        Assert.All(generated.GetColumn<float>("Size").Where(float.IsFinite), s => Assert.InRange(s, 1f, 3.36f));
        Assert.All(generated.GetColumn<int>("Count"), c => Assert.True(c == 0 || c is >= 5 and <= 41, $"count {c}"));

        // Without a sampler named, table models sample by the reflected SDE (ReflectedDiffusionTable.DefaultSampler), and
        // the caller's options come back as they were.
        var unnamed = new GenerationOptions { Steps = 30, Seed = 3 };
        var viaDefault = ReflectedDiffusionTable.Draw(model.Encoder, (n, o) => model.Transformer.Generator.Generate(n, o), 20, unnamed, []).Rows;
        Assert.Null(unnamed.Sampler);
        var viaSde = ReflectedDiffusionTable.Draw(model.Encoder, (n, o) => model.Transformer.Generator.Generate(n, o), 20,
            new GenerationOptions { Steps = 30, Seed = 3, Sampler = Sampling.SamplerKind.ReflectedSde }, []).Rows;
        Assert.Equal(viaSde["Size"].Numbers!, viaDefault["Size"].Numbers!);
        Assert.Equal(viaSde["Kind"].Texts!, viaDefault["Kind"].Texts!);

        // Generate draws again any row equal to a training row (model.TrainingRows); Draw does so when given the set.
        var free = ReflectedDiffusionTable.Draw(model.Encoder, (n, o) => model.Transformer.Generator.Generate(n, o), 120, new GenerationOptions { Steps = 30, Seed = 3 }, [],
            exclude: model.TrainingRows).Rows;
        Assert.Equal(120, free.RowCount);
        Assert.Equal(0, model.TrainingRows.CountIn(free));
        Assert.Equal(Rows().Select(r => (r.Kind, r.Flag, float.IsNaN(r.Size) ? double.NaN : Math.Round(r.Size, 2), r.Count)).Distinct().Count(), model.TrainingRows.Count);

        var large = model.Generate(40, new GenerationOptions { Steps = 30, Seed = 4 }, [RowCondition.Parse("Kind=large"), RowCondition.Parse("Count>=6")]);
        Assert.All(large.GetColumn<ReadOnlyMemory<char>>("Kind"), k => Assert.Equal("large", k.ToString()));
        Assert.All(large.GetColumn<int>("Count"), c => Assert.True(c >= 6));
    }

    [Fact]
    public void UnsupportedColumnsAndUnknownOverridesAreNamed()
    {
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(Rows());
        var keyed = ml.Transforms.Conversion.MapValueToKey("Kind").Fit(data).Transform(data);
        var e = Assert.Throws<ArgumentException>(() => ReflectedDiffusionTable.Fit(ml, keyed));
        Assert.Contains("Column 'Kind' is Key", e.Message);
        Assert.Contains("map keys to values", e.Message);
        Assert.Contains("ignore: column 'Nope'", Assert.Throws<TableInputException>(() => ReflectedDiffusionTable.Fit(ml, data, overrides: new ColumnTypeOverrides { Ignore = ["Nope"] })).Message);
    }
}
