using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// What the tool keeps beside the ML.NET pipeline: the feature column names, the class names, the options the model
/// was trained with (scoring settings, image shape and label column among them), so that a loaded model scores
/// exactly as the trained one did, and for table models the table's schema and encoding.
/// </summary>
internal sealed record ModelInfo(string[] Features, string[]? Classes, ReflectedDiffusionOptions Options)
{
    /// <summary>The format of this description; files of other formats are refused.</summary>
    public const string Format = "rdiff-model/2";
    public string FormatName { get; init; } = Format;
    /// <summary>Table models: the schema and the encoding of the table's rows into the model's features (null for vector models).</summary>
    public TableEncoder? Table { get; init; }
    [JsonIgnore] public string? Label => Options.LabelColumnName;
    [JsonIgnore] public bool IsConditional => Classes is { Length: > 0 };
    [JsonIgnore] public ImageShape? ImageShape => Options.ImageHeight > 0 && Options.ImageWidth > 0
        ? new ImageShape(Options.ImageHeight, Options.ImageWidth, Options.ImageChannels) : null;

    /// <summary>Fields included (the options are public fields), enums by name.</summary>
    public static readonly JsonSerializerOptions Json = new() { IncludeFields = true, Converters = { new JsonStringEnumConverter() } };
}

/// <summary>
/// A model file: an ML.NET model file (<c>mlContext.Model.Load</c> opens it and adds <c>LogLikelihood</c> and
/// <c>BitsPerDimension</c> to a <c>Features</c> vector column) with two more entries that ML.NET ignores: the trained
/// score model and the tool's <see cref="ModelInfo"/>. Written to a temporary file, then renamed, so a failed or
/// cancelled run leaves no half-written model.
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
                using (var s = zip.CreateEntry(InfoEntry).Open()) JsonSerializer.Serialize(s, Info, ModelInfo.Json);
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
            var info = ReadInfo(infoEntry, path);
            using var buffer = new MemoryStream();
            using (var s = modelEntry.Open()) s.CopyTo(buffer);
            buffer.Position = 0;
            var model = ScoreModel.Load(buffer);
            // The scoring graph is rebuilt from the options the model was trained with, over the tool's feature column.
            info.Options.FeatureColumnName = FeatureColumn;
            return new ModelBundle(ReflectedDiffusionTransformer.FromScoreModel(model, info.Options), info);
        }
    }

    // Reads the format first, so an older file gets a clear refusal rather than a deserialisation error.
    private static ModelInfo ReadInfo(ZipArchiveEntry entry, string path)
    {
        JsonDocument document;
        using (var s = entry.Open())
        {
            try { document = JsonDocument.Parse(s); }
            catch (JsonException e) { throw new InputException($"'{path}': the model description is not JSON ({e.Message})."); }
        }
        using (document)
        {
            string? format = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(nameof(ModelInfo.FormatName), out var f)
                ? f.GetString() : null;
            if (format != ModelInfo.Format)
                throw new InputException($"'{path}': model format '{format ?? "unknown"}' is not {ModelInfo.Format}; it was written by an older rdiff. Train the model again with this version.");
            return document.Deserialize<ModelInfo>(ModelInfo.Json) is { Options: not null } info
                ? info : throw new InputException($"'{path}': the model description holds no training options.");
        }
    }

    public void Dispose() => Transformer.Dispose();
}
