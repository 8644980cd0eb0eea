using Microsoft.ML;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Cli;

/// <summary>The steps the commands share: train through the ML.NET estimator, sample through its generator, score through its transformer.</summary>
internal static class Workflow
{
    /// <summary>
    /// Trains on <paramref name="data"/> with <paramref name="options"/> as they are, adding only the tool's plumbing
    /// (its feature column, progress and cancellation). The estimator validates the options; <paramref name="flagOf"/>
    /// names the flag of a field it rejects, and bad rows are named by their place in the data.
    /// </summary>
    public static ModelBundle Train(Dataset data, ReflectedDiffusionOptions options, ProgressReporter progress, CancellationToken cancel, Func<string, string?> flagOf)
    {
        var ml = new MLContext(seed: 1);
        ProgressUpdate? report = null;
        options.FeatureColumnName = ModelBundle.FeatureColumn;
        options.CancellationToken = cancel;
        options.Progress = p => report?.Invoke(p.Step, p.TotalSteps, $"loss {p.Loss:F4}, {p.SamplesPerSecond:F0} samples/s");
        var estimator = InputErrors.Translate(() => ml.Transforms.ReflectedDiffusion(options), flagOf);
        var view = FeatureView(ml, data.Rows, data.Dimension, data.Labels, data.ClassNames?.Length ?? 0, options.LabelColumnName);
        var transformer = progress.Run("train", update =>
        {
            report = update;
            return InputErrors.Translate(() => estimator.Fit(view), flagOf, data);
        });
        // The fitted anomaly settings travel with the options, so a model read back scores and predicts as the fitted one.
        options.Threshold ??= transformer.Threshold;
        options.TailBandwidth ??= transformer.TailBandwidth;
        options.AnomalyProfile ??= transformer.AnomalyProfile;
        return new ModelBundle(transformer, new ModelInfo(data.FeatureNames, data.ClassNames, options));
    }

    /// <summary>A view with a known-size <c>Features</c> vector column (and a key label column when labels are given).</summary>
    public static IDataView FeatureView(MLContext ml, IEnumerable<float[]> rows, int dimension, long[]? labels = null, int classes = 0, string? labelColumn = null)
        => VectorDataView.Create(ml, rows, dimension, ModelBundle.FeatureColumn, labels, classes, labelColumn ?? "Label");

    /// <summary>
    /// Draws <paramref name="count"/> rows in the user's units through the model's generator (the ML.NET API's own
    /// path), which validates <paramref name="options"/>; <paramref name="flagOf"/> names the flag of a rejected field.
    /// </summary>
    public static float[][] Sample(ReflectedDiffusionGenerator generator, int count, long[]? labels, GenerationOptions options, ProgressReporter progress, Func<string, string?> flagOf)
        => progress.Run("sample", update =>
        {
            options.Progress = (done, total) => update(done, total);
            return InputErrors.Translate(() => generator.Generate(count, options, labels), flagOf);
        });

    /// <summary>
    /// Log-likelihood (nats) and bits per dimension of rows, through the transformer's batched scoring (the
    /// options' ScoringBatchSize rows per ONNX Runtime call, on their inference device).
    /// </summary>
    public static (float[] LogLikelihood, float[] BitsPerDimension) Score(ModelBundle bundle, IReadOnlyList<float[]> rows, ProgressReporter progress)
        => progress.Run("score", update =>
        {
            var scored = bundle.Transformer.Transform(FeatureView(new MLContext(), rows, bundle.Info.Features.Length));
            var (logLikelihood, bitsPerDimension) = (new float[rows.Count], new float[rows.Count]);
            using var cursor = scored.GetRowCursor([scored.Schema[ReflectedDiffusionEstimator.LogLikelihoodColumn], scored.Schema[ReflectedDiffusionEstimator.BitsPerDimensionColumn]]);
            var getLogLikelihood = cursor.GetGetter<float>(scored.Schema[ReflectedDiffusionEstimator.LogLikelihoodColumn]);
            var getBitsPerDimension = cursor.GetGetter<float>(scored.Schema[ReflectedDiffusionEstimator.BitsPerDimensionColumn]);
            for (int i = 0; cursor.MoveNext(); i++)
            {
                getLogLikelihood(ref logLikelihood[i]);
                getBitsPerDimension(ref bitsPerDimension[i]);
                update(i + 1, rows.Count);
            }
            return (logLikelihood, bitsPerDimension);
        });
}
