using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// A folder of images with one subfolder per class, read through ML.NET's image stages (LoadImages, ResizeImages,
/// ConvertToGrayscale, ExtractPixels): rows of channel-planar pixel values in [0, 1].
/// </summary>
internal static class ImageFolder
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif"];

    /// <summary>Reads every image; <paramref name="shape"/> (or the first image's size, 3 channels) sets the size.</summary>
    public static Dataset Read(string folder, ImageShape? shape)
    {
        var classes = Directory.GetDirectories(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var files = classes.SelectMany((c, i) => Directory.GetFiles(Path.Combine(folder, c!))
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal)
            .Select(f => new ImageRow { Path = f, Label = i })).ToList();
        if (files.Count == 0) throw new InputException($"{folder}: no images (.png, .jpg, .bmp, .gif) in subfolders; put each class's images in a subfolder named after the class.");
        var size = shape ?? FirstImageShape(files[0].Path);
        var ml = new MLContext();
        IEstimator<ITransformer> pipeline = ml.Transforms.LoadImages("Image", null, nameof(ImageRow.Path))
            .Append(ml.Transforms.ResizeImages("Image", size.Width, size.Height, resizing: ImageResizingEstimator.ResizingKind.IsoPad));
        if (size.Channels == 1) pipeline = pipeline.Append(ml.Transforms.ConvertToGrayscale("Image"));
        pipeline = pipeline.Append(ml.Transforms.ExtractPixels("Pixels", "Image",
            colorsToExtract: size.Channels == 1 ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb,
            orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB, interleavePixelColors: false, scaleImage: 1f / 255));
        var input = ml.Data.LoadFromEnumerable(files);
        IDataView pixels;
        try { pixels = pipeline.Fit(input).Transform(input); }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { throw new InputException($"{folder}: {e.Message}"); }
        var rows = new List<float[]>(files.Count);
        using (var cursor = pixels.GetRowCursor([pixels.Schema["Pixels"]]))
        {
            var get = cursor.GetGetter<VBuffer<float>>(pixels.Schema["Pixels"]);
            var buffer = default(VBuffer<float>);
            int i = 0;
            while (cursor.MoveNext())
            {
                try { get(ref buffer); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException) { throw new InputException($"{files[i].Path}: cannot read the image ({e.Message})."); }
                rows.Add(buffer.DenseValues().ToArray());
                i++;
            }
        }
        return new Dataset
        {
            FeatureNames = Dataset.PixelNames(size), Rows = rows, Image = size, LabelName = "label",
            ClassNames = classes!, Labels = files.Select(f => (long)f.Label).ToArray(),
        };
    }

    private static ImageShape FirstImageShape(string path)
    {
        try
        {
            using var image = MLImage.CreateFromFile(path);
            return new ImageShape(image.Height, image.Width, 3);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { throw new InputException($"{path}: cannot read the image ({e.Message})."); }
    }

    private sealed class ImageRow
    {
        public string Path = "";
        public int Label;
    }
}
