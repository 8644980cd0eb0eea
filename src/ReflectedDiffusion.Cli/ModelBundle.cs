using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Cli;

/// <summary>What the tool needs beyond the ML.NET pipeline: column names, classes, image shape.</summary>
internal sealed record ModelInfo(string[] Features, string? Label, string[]? Classes, int[]? Image, int LikelihoodSteps, bool FoldLikelihood = false)
{
    public const string Format = "rdiff-model/1";
    public string FormatName { get; init; } = Format;
    public bool IsConditional => Classes is { Length: > 0 };
    public ImageShape? ImageShape => Image is [int h, int w, int c] ? new ImageShape(h, w, c) : null;
}

/// <summary>
/// A model file: an ML.NET model file (<c>mlContext.Model.Load</c> opens it and adds <c>LogLikelihood</c> and
/// <c>BitsPerDimension</c> to a <c>Features</c> vector column) with two more entries that ML.NET ignores: the trained
/// score model and the tool's <see cref="ModelInfo"/>. Written to a temporary file, then renamed.
/// </summary>
internal sealed class ModelBundle(ReflectedDiffusionTransformer transformer, ModelInfo info) : IDisposable
{
    public const string FeatureColumn = "Features";
    private const string ScoreModelEntry = "ReflectedDiffusion/score-model.bin", InfoEntry = "ReflectedDiffusion/rdiff.json";

    public ReflectedDiffusionTransformer Transformer { get; } = transformer;
    public ModelInfo Info { get; } = info;
    public ScoreModel Model => Transformer.Model;

    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + $".tmp-{Guid.NewGuid():N}";
        try
        {
            var ml = new MLContext();
            ml.Model.Save(Transformer, Workflow.FeatureView(ml, [], Info.Features.Length).Schema, temp);
            using (var zip = ZipFile.Open(temp, ZipArchiveMode.Update))
            {
                using (var s = zip.CreateEntry(ScoreModelEntry).Open()) Model.Save(s);
                using (var s = zip.CreateEntry(InfoEntry).Open()) JsonSerializer.Serialize(s, Info);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static ModelBundle Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"Model file '{path}' not found.");
        ZipArchive zip;
        try { zip = ZipFile.OpenRead(path); }
        catch (InvalidDataException) { throw new InputException($"'{path}' is not a model file (not a zip archive)."); }
        using (zip)
        {
            var infoEntry = zip.GetEntry(InfoEntry);
            var modelEntry = zip.GetEntry(ScoreModelEntry);
            if (infoEntry is null || modelEntry is null)
                throw new InputException($"'{path}' holds no reflected diffusion model written by 'rdiff train'.");
            ModelInfo info;
            using (var s = infoEntry.Open())
                info = JsonSerializer.Deserialize<ModelInfo>(s) ?? throw new InputException($"'{path}': empty model description.");
            if (info.FormatName != ModelInfo.Format) throw new InputException($"'{path}': model format '{info.FormatName}' is not {ModelInfo.Format}.");
            using var buffer = new MemoryStream();
            using (var s = modelEntry.Open()) s.CopyTo(buffer);
            buffer.Position = 0;
            var model = ScoreModel.Load(buffer);
            var options = new ReflectedDiffusionOptions { FeatureColumnName = FeatureColumn, LikelihoodSteps = info.LikelihoodSteps, FoldLikelihoodFlow = info.FoldLikelihood };
            return new ModelBundle(ReflectedDiffusionTransformer.FromScoreModel(model, options), info);
        }
    }

    public void Dispose() => Transformer.Dispose();
}
