using System.CommandLine;
using System.Diagnostics;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Networks;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// 'rdiff train': reads a CSV file, an image folder or an IDX file and trains through the ML.NET estimator. Its
/// settings are the fields of <see cref="ReflectedDiffusionOptions"/>, one flag each (<see cref="FieldOptions{TOptions}"/>).
/// </summary>
internal static class TrainCommand
{
    /// <summary>
    /// Fields that are not settings of the tool: the callback, the token and the pipeline context are the tool's to
    /// supply, the feature column is the tool's own view column, and the anomaly profile is fitted (kept in the model file).
    /// </summary>
    public static readonly string[] NotExposed =
    [
        nameof(ReflectedDiffusionOptions.Progress), nameof(ReflectedDiffusionOptions.CancellationToken),
        nameof(ReflectedDiffusionOptions.Context), nameof(ReflectedDiffusionOptions.FeatureColumnName),
        nameof(ReflectedDiffusionOptions.AnomalyProfile),
    ];

    private static readonly string[] ImageFields =
        [nameof(ReflectedDiffusionOptions.ImageHeight), nameof(ReflectedDiffusionOptions.ImageWidth), nameof(ReflectedDiffusionOptions.ImageChannels)];

    /// <summary>The generated settings: today's short flags kept as aliases, <c>auto</c> for the network the options choose.</summary>
    public static FieldOptions<ReflectedDiffusionOptions> Settings() => new(NotExposed,
        new Dictionary<string, string[]>
        {
            [nameof(ReflectedDiffusionOptions.NumberOfSteps)] = ["--steps"],
            [nameof(ReflectedDiffusionOptions.LabelColumnName)] = ["--label"],
        },
        new Dictionary<string, IReadOnlyDictionary<string, object?>>
        {
            [nameof(ReflectedDiffusionOptions.Network)] = new Dictionary<string, object?> { ["auto"] = null },
        });

    public static Command Create(CliContext context)
    {
        var data = CommonOptions.Required("--data", "A CSV file with a header row, a folder with one subfolder of images per class, or an IDX image file (labels from the IDX label file next to it). Images become pixel values in [0, 1].");
        var output = CommonOptions.Required("--out", "The model file to write (an ML.NET model file, .zip).");
        var features = new Option<string>("--features") { Description = "CSV: the feature columns, comma-separated (all but the label column when not given).", HelpName = "C1,C2,..." };
        var image = new Option<ImageShape?>("--image")
        {
            Description = "The rows are images of this shape: sets --image-height, --image-width and --image-channels; image folders are resized to it.",
            HelpName = "HxW[xC]",
            CustomParser = r => ImageShape.TryParse(r.Tokens[0].Value, out var shape) ? shape
                : CommonOptions.Error<ImageShape?>(r, $"Option '--image': '{r.Tokens[0].Value}' is not HxW or HxWxC with C 1 or 3."),
        };
        var settings = Settings();
        var table = new TableMode.TrainFlags();
        var command = new Command("train", "Trains a model on a data file and writes it. A CSV file is a table by default: every column is modelled as it is " +
            "(numbers, integers, categories, missing cells). --label-column-name, --features, --bounds or image settings train on numeric feature vectors instead. " +
            "Image data (folders, IDX files, or --image) gets --bounds unit and its image shape unless given.")
        {
            data, output, features, image,
        };
        foreach (var option in table.All) command.Options.Add(option);
        foreach (var option in settings.Options) command.Options.Add(option);
        command.SetAction(p => Train(context, p.GetRequiredValue(data), p.GetRequiredValue(output), p.GetValue(features), p.GetValue(image), settings, table, p));
        return command;
    }

    private static void Train(CliContext context, string dataPath, string outPath, string? featureList, ImageShape? image, FieldOptions<ReflectedDiffusionOptions> settings,
        TableMode.TrainFlags tableFlags, ParseResult parsed)
    {
        var options = settings.Bind(parsed);
        bool imageFieldsGiven = ImageFields.Any(f => settings.WasGiven(parsed, f));
        if (image is not null && imageFieldsGiven) throw new InputException("Give --image or --image-height, --image-width and --image-channels, not both.");
        bool vectors = options.LabelColumnName is not null || featureList is not null || image is not null || imageFieldsGiven
            || settings.WasGiven(parsed, nameof(ReflectedDiffusionOptions.Bounds)) || Directory.Exists(dataPath) || IdxFile.LooksLikeIdx(dataPath);
        if (!vectors)
        {
            TrainTable(context, dataPath, outPath, options, tableFlags, parsed, settings);
            return;
        }
        if (tableFlags.AnyGiven(parsed))
            throw new InputException("Options '--categorical', '--integer', '--ignore' and '--column-bounds' apply to tables; they do not combine with --label-column-name, --features, --bounds or image data.");
        var (data, labelName, dataImage) = ReadData(dataPath, image ?? FieldShape(options), options.LabelColumnName, featureList);
        ChooseForData(options, labelName, dataImage, boundsGiven: settings.WasGiven(parsed, nameof(ReflectedDiffusionOptions.Bounds)));
        RequireDevice(options.Device);
        context.Output.WriteLine($"Training on {data.Count} rows of {data.FeatureNames.Length} features" + (data.ClassNames is { } c ? $", {c.Length} classes ('{labelName}')" : "") + $" from {dataPath}.");
        AnnounceResume(context, options);
        var watch = Stopwatch.StartNew();
        using var bundle = Workflow.Train(data, options, context.Progress, context.Cancel, settings.FlagOf, context.Output);
        bundle.Save(outPath);
        Report(context, bundle, options, watch, outPath);
    }

    // A CSV file as a table: schema and encoding printed, the model trained on the encoded rows in the unit box.
    private static void TrainTable(CliContext context, string dataPath, string outPath, ReflectedDiffusionOptions options, TableMode.TrainFlags flags,
        ParseResult parsed, FieldOptions<ReflectedDiffusionOptions> settings)
    {
        // The margin widens the table's observed column ranges (opt-in); the encoded rows then live in the unit box.
        var (data, encoder) = TableMode.Prepare(dataPath, flags.Overrides(parsed), flags.Bounds(parsed), options.BoundsMargin);
        (options.Bounds, options.BoundsMargin) = (BoundsSource.Unit, 0);
        RequireDevice(options.Device);
        context.Output.WriteLine($"Training on {data.Rows.Count} rows of {encoder.Schema.Columns.Count} columns from {dataPath}.");
        foreach (var line in TableMode.Describe(encoder)) context.Output.WriteLine(line);
        AnnounceResume(context, options);
        var watch = Stopwatch.StartNew();
        var trained = Workflow.Train(data, options, context.Progress, context.Cancel, settings.FlagOf, context.Output);
        using var bundle = new ModelBundle(trained.Transformer, trained.Info with { Table = encoder }); // owns the transformer
        bundle.Save(outPath);
        Report(context, bundle, options, watch, outPath);
    }

    // The estimator resumes from an existing checkpoint file; say so, since a stale one from other data would be used too.
    private static void AnnounceResume(CliContext context, ReflectedDiffusionOptions options)
    {
        if (options.CheckpointPath is { } path && File.Exists(path))
            context.Output.WriteLine($"Resuming from the checkpoint {path} (delete it to start over).");
    }

    private static void Report(CliContext context, ModelBundle bundle, ReflectedDiffusionOptions options, Stopwatch watch, string outPath)
    {
        string network = bundle.Model.Network.Config.Kind == NetworkKind.UNet ? "U-Net" : "residual MLP";
        context.Output.WriteLine($"Trained the {network} for {options.NumberOfSteps} steps in {watch.Elapsed.TotalSeconds:F0} s (final loss {bundle.Transformer.LossTrace.TakeLast(50).Average():F4}); model written to {outPath}.");
    }

    // The image shape given through the three fields, when they describe one.
    private static ImageShape? FieldShape(ReflectedDiffusionOptions o)
        => o.ImageHeight > 0 && o.ImageWidth > 0 ? new ImageShape(o.ImageHeight, o.ImageWidth, o.ImageChannels) : null;

    /// <summary>
    /// The documented data-driven choices: image data gets its shape (unless --image-height or --image-width was
    /// given; --image is checked against the data) and the unit box (unless --bounds was given); the label column is
    /// the data's. Every other field keeps what the user gave or the options' own default.
    /// </summary>
    private static void ChooseForData(ReflectedDiffusionOptions options, string? labelName, ImageShape? image, bool boundsGiven)
    {
        options.LabelColumnName = labelName;
        if (image is not { } shape) return;
        if (options.ImageHeight == 0 && options.ImageWidth == 0)
            (options.ImageHeight, options.ImageWidth, options.ImageChannels) = (shape.Height, shape.Width, shape.Channels);
        if (!boundsGiven) options.Bounds = BoundsSource.Unit;
    }

    // Image data is read into memory; a CSV file streams (CsvFeatureFile), so its length is not bounded by memory.
    private static (ITrainingRows Data, string? LabelName, ImageShape? Image) ReadData(string path, ImageShape? image, string? label, string? featureList)
    {
        if (Directory.Exists(path) || IdxFile.LooksLikeIdx(path))
        {
            if (label is not null || featureList is not null)
                throw new InputException("Options '--label-column-name' and '--features' apply to CSV files; image data takes its classes from the folder names or the IDX label file.");
            var images = Directory.Exists(path) ? ImageFolder.Read(path, image) : IdxFile.Read(path);
            if (image is { } wanted && images.Image != wanted)
                throw new InputException($"Option '--image {wanted}': {path} holds {images.Image} images.");
            return (images, images.LabelName, images.Image);
        }
        var features = featureList?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var data = CsvFeatureFile.Open(path, label, features);
        if (image is { } shape && shape.Size != data.Dimension)
            throw new InputException($"Option '--image {shape}': {shape.Size} pixels, but {path} has {data.Dimension} feature columns.");
        return (data, label, image);
    }

    // The options pass any torch device through; a CUDA one must exist in this build (it ships the CPU libtorch).
    private static void RequireDevice(string device)
    {
        if (device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !TorchSharp.torch.cuda.is_available())
            throw new InputException($"Option '--device {device}': no CUDA device is available to TorchSharp here (this build ships the CPU libtorch).");
    }
}
