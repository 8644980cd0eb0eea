using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;
using ReflectedDiffusion.Sampling;
using static TorchSharp.torch;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Draws new rows from a trained model, in the user's units, with any of the samplers (<see cref="GenerationOptions"/>).
/// This is the one generation path: the ML.NET API and <c>rdiff sample</c> both come here, so the same model, sampler,
/// steps and seed give the same rows through either door. <see cref="CreateGenerationTransformer"/> compiles the Heun
/// sampler into an ONNX graph for an ML.NET stage that saves with the pipeline.
/// </summary>
public sealed class ReflectedDiffusionGenerator
{
    private readonly ScoreModel _model;
    private readonly MLContext _stages;

    /// <summary>
    /// A generator over <paramref name="model"/> (not owned: the transformer that owns the model disposes it);
    /// <paramref name="stages"/> builds the ONNX stages (its TempFilePath is a folder the owner removes).
    /// </summary>
    internal ReflectedDiffusionGenerator(ScoreModel model, MLContext stages) => (_model, _stages) = (model, stages);

    /// <summary>Features per generated row.</summary>
    public int Dimension => _model.Network.Config.Dimension;

    /// <summary>Classes of a conditional model (0: unconditional).</summary>
    public int Classes => _model.Network.Config.NumClasses;

    /// <summary>
    /// Generates <paramref name="count"/> rows. Conditional models take one class index per row in
    /// <paramref name="labels"/> (the number of classes, or null for all rows, means no label) and
    /// <see cref="GenerationOptions.Guidance"/>; row i uses the row seed of (<see cref="GenerationOptions.Seed"/>,
    /// <see cref="GenerationOptions.FirstRow"/> + i), so shards of a run concatenate to the unsplit run.
    /// </summary>
    public float[][] Generate(int count, GenerationOptions? options = null, long[]? labels = null)
    {
        options ??= new GenerationOptions();
        options.Validate();
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The number of rows must be positive.");
        if (Classes == 0 && labels is not null) throw new ArgumentException("The model is unconditional; it takes no labels.", nameof(labels));
        if (Classes == 0 && options.Guidance != 0) throw new ArgumentOutOfRangeException(nameof(options), options.Guidance, "Guidance needs a conditional model (trained with a label column).");
        using var scope = NewDisposeScope();
        var unit = Sampler.Generate(_model.Network, _model.Sde, count, options.SamplerToUse, OptionsMapping.ToSamplerOptions(options, count), labels).Samples;
        var flat = _model.Bounds.FromUnit(unit.to(float64)).to(float32).contiguous().data<float>().ToArray();
        options.Progress?.Invoke(count, count);
        return Enumerable.Range(0, count).Select(i => flat.AsSpan(i * Dimension, Dimension).ToArray()).ToArray();
    }

    /// <summary>
    /// Generates <paramref name="count"/> rows as a stream, <see cref="GenerationOptions.BatchSize"/> rows at a time, so
    /// memory stays flat however many rows are drawn: the rows of <see cref="Generate"/> for the same options, value for
    /// value (each batch is one call for rows FirstRow + k BatchSize onwards). Conditional models take the class of
    /// row i of the run from <paramref name="labelOf"/> (null: unconditional).
    /// </summary>
    public IEnumerable<float[]> GenerateStream(long count, GenerationOptions? options = null, Func<long, long>? labelOf = null)
    {
        options ??= new GenerationOptions();
        options.Validate();
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The number of rows must be positive.");
        return Batches(count, options, labelOf).SelectMany(batch => batch);
    }

    private IEnumerable<float[][]> Batches(long count, GenerationOptions options, Func<long, long>? labelOf)
    {
        long first = options.FirstRow;
        for (long done = 0; done < count; done += options.BatchSize)
        {
            int n = (int)System.Math.Min(options.BatchSize, count - done);
            var batch = options.ForRows(first + done);
            var labels = labelOf is null ? null : Enumerable.Range(0, n).Select(i => labelOf(first + done + i)).ToArray();
            var rows = Generate(n, batch, labels);
            TorchRuntime.ReleaseFreedMemory(); // a long stream keeps one batch's native memory, not one per allocator arena
            yield return rows;
            options.Progress?.Invoke(done + n, count);
        }
    }

    /// <summary>
    /// Generates rows (see <see cref="Generate"/>) as an <see cref="IDataView"/> with a known-size vector column, for
    /// data augmentation. With <paramref name="balanceLabels"/> (conditional models only) row i is drawn for class
    /// i mod C, and a key column <paramref name="labelColumnName"/> (C values, class index i is key i + 1, as
    /// MapValueToKey numbers them) says which.
    /// </summary>
    public IDataView GenerateDataView(MLContext mlContext, int count, GenerationOptions? options = null, string columnName = "Generated",
        bool balanceLabels = false, string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        if (!balanceLabels) return VectorDataView.Create(mlContext, Generate(count, options), Dimension, columnName);
        if (Classes == 0) throw new InvalidOperationException("Balanced labels need a conditional model (trained with LabelColumnName).");
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % Classes)).ToArray();
        return VectorDataView.Create(mlContext, Generate(count, options, labels), Dimension, columnName, labels, Classes, labelColumnName);
    }

    /// <summary>
    /// A generation transformer: maps rows holding a seed (an <see cref="long"/> column) to a <c>Generated</c> vector
    /// column in the user's units, through the compiled generation graph (the Heun ODE, <paramref name="steps"/> steps;
    /// the same rows as <see cref="Generate"/> with <see cref="SamplerKind.OdeHeun"/> up to float rounding) in ML.NET's
    /// OnnxTransformer; it saves and loads with <c>mlContext.Model</c> like any ML.NET stage. A row's sample depends
    /// only on its seed (and label and guidance weight). Conditional models also read a label column
    /// (<see cref="long"/> class index; the number of classes means no label) and a guidance column (<see cref="float"/>).
    /// </summary>
    public ITransformer CreateGenerationTransformer(IDataView seedRows, string seedColumnName = GenerationGraph.SeedInput,
        int steps = GenerationOptions.DefaultHeunSteps, string outputColumnName = GenerationGraph.GeneratedOutput,
        string labelColumnName = GenerationGraph.LabelInput, string guidanceColumnName = GenerationGraph.GuidanceInput)
    {
        ArgumentNullException.ThrowIfNull(seedRows);
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Steps must be positive.");
        RequireColumn(seedRows.Schema, seedColumnName, NumberDataViewType.Int64, "Seed");
        string[] inputs = [seedColumnName];
        if (Classes > 0)
        {
            RequireColumn(seedRows.Schema, labelColumnName, NumberDataViewType.Int64, "Label");
            RequireColumn(seedRows.Schema, guidanceColumnName, NumberDataViewType.Single, "Guidance");
            inputs = [seedColumnName, labelColumnName, guidanceColumnName];
        }
        var graph = GenerationGraph.Build(_model, steps, seedColumnName, outputColumnName, labelColumnName, guidanceColumnName);
        return _stages.Transforms.ApplyOnnxModel([outputColumnName], inputs, new MemoryStream(graph)).Fit(seedRows);
    }

    /// <summary>The row seeds <see cref="Generate"/> uses for rows 0..count-1 of a run (the generation graph's <c>Seed</c> input).</summary>
    public static long[] RowSeeds(ulong seed, int count)
    {
        using var seeds = CounterNoise.RowSeeds(seed, 0, count);
        return seeds.data<long>().ToArray();
    }

    private static void RequireColumn(DataViewSchema schema, string name, DataViewType type, string role)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{role} column '{name}' not found.");
        if (column.Type != type) throw new InvalidOperationException($"{role} column '{name}' must be {type}; found {column.Type}.");
    }
}
