using Microsoft.ML;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Cli;

/// <summary>The steps the commands share: train through the ML.NET estimator, sample through its generator, score through its transformer.</summary>
internal static class Workflow
{
    /// <summary>
    /// Trains on <paramref name="data"/> with <paramref name="options"/> as they are, adding only the tool's plumbing
    /// (its feature column, progress and cancellation). The estimator validates the options; <paramref name="flagOf"/>
    /// names the flag of a field it rejects, and bad rows are named by their place in the data. The estimator's
    /// messages (the rows read, the bandwidth and anomaly settings it chose) go to <paramref name="log"/>, per-step ones aside.
    /// </summary>
    public static ModelBundle Train(ITrainingRows data, ReflectedDiffusionOptions options, ProgressReporter progress, CancellationToken cancel,
        Func<string, string?> flagOf, TextWriter? log = null)
    {
        var ml = new MLContext(seed: 1);
        if (log is not null)
        {
            ml.Log += (_, e) =>
            {
                if (e.Source == "ReflectedDiffusion" && e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info)
                    lock (log) log.WriteLine(e.RawMessage);
            };
            options.Context = ml;
        }
        ProgressUpdate? report = null;
        options.FeatureColumnName = ModelBundle.FeatureColumn;
        options.CancellationToken = cancel;
        options.Progress = p => report?.Invoke(p.Step, p.TotalSteps, $"loss {p.Loss:F4}, {p.SamplesPerSecond:F0} samples/s");
        var estimator = InputErrors.Translate(() => ml.Transforms.ReflectedDiffusion(options), flagOf);
        var view = data.View(ml, options.LabelColumnName);
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

    /// <summary>The columns <see cref="Score"/> returns, one value per row.</summary>
    public sealed record ScoredColumns(float[] LogLikelihood, float[] BitsPerDimension, float[] AnomalyScore, bool[] IsAnomaly);

    /// <summary>
    /// Log-likelihood (nats), bits per dimension, anomaly score and predicted label of rows, through the transformer's
    /// batched scoring (the options' ScoringBatchSize rows per ONNX Runtime call, on their inference device).
    /// </summary>
    public static ScoredColumns Score(ModelBundle bundle, IReadOnlyList<float[]> rows, ProgressReporter progress)
        => progress.Run("score", update =>
        {
            var scored = bundle.Transformer.Transform(FeatureView(new MLContext(), rows, bundle.Info.Features.Length));
            var result = new ScoredColumns(new float[rows.Count], new float[rows.Count], new float[rows.Count], new bool[rows.Count]);
            var options = bundle.Info.Options;
            var columns = new[] { ReflectedDiffusionEstimator.LogLikelihoodColumn, ReflectedDiffusionEstimator.BitsPerDimensionColumn, options.ScoreColumnName, options.PredictedLabelColumnName }
                .Select(name => scored.Schema[name]).ToArray();
            using var cursor = scored.GetRowCursor(columns);
            var getLogLikelihood = cursor.GetGetter<float>(columns[0]);
            var getBitsPerDimension = cursor.GetGetter<float>(columns[1]);
            var getScore = cursor.GetGetter<float>(columns[2]);
            var getLabel = cursor.GetGetter<bool>(columns[3]);
            for (int i = 0; cursor.MoveNext(); i++)
            {
                getLogLikelihood(ref result.LogLikelihood[i]);
                getBitsPerDimension(ref result.BitsPerDimension[i]);
                getScore(ref result.AnomalyScore[i]);
                getLabel(ref result.IsAnomaly[i]);
                update(i + 1, rows.Count);
            }
            return result;
        });
}
