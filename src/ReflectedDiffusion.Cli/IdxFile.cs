using System.Buffers.Binary;
using System.IO.Compression;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// IDX image files (MNIST layout: big-endian int32 magic 2051, count, rows, columns, then unsigned bytes), plain or
/// gzipped, with the label file (magic 2049) found next to them by the usual naming ("images-idx3" to "labels-idx1").
/// </summary>
internal static class IdxFile
{
    public const int ImageMagic = 2051, LabelMagic = 2049;

    public static bool LooksLikeIdx(string path) => path.Contains("idx3", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads images as rows of pixel values scaled to [0, 1], with class labels 0..9 when the label file exists.</summary>
    public static Dataset Read(string path, int? limit = null)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != ImageMagic)
            throw new InputException($"{path}: not an IDX image file (magic {ImageMagic} expected).");
        int count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)), height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)), width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        int size = height * width;
        if (count < 0 || size <= 0 || bytes.Length < 16 + (long)count * size)
            throw new InputException($"{path}: header says {count} images of {height}x{width}, but the file has {bytes.Length - 16} pixel bytes.");
        int n = System.Math.Min(count, limit ?? count);
        var rows = new List<float[]>(n);
        for (int i = 0; i < n; i++)
        {
            var row = new float[size];
            for (int j = 0; j < size; j++) row[j] = bytes[16 + (long)i * size + j] / 255f;
            rows.Add(row);
        }
        var shape = new ImageShape(height, width, 1);
        var labelPath = LabelPath(path);
        if (labelPath is null) return new Dataset { FeatureNames = Dataset.PixelNames(shape), Rows = rows, Image = shape };
        var labelBytes = ReadAll(labelPath);
        if (labelBytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(labelBytes) != LabelMagic || BinaryPrimitives.ReadInt32BigEndian(labelBytes.AsSpan(4)) != count || labelBytes.Length < 8 + count)
            throw new InputException($"{labelPath}: not an IDX label file for {count} images.");
        var labels = Enumerable.Range(0, n).Select(i => (long)labelBytes[8 + i]).ToArray();
        int classes = (int)labels.Max() + 1;
        return new Dataset
        {
            FeatureNames = Dataset.PixelNames(shape), Rows = rows, Image = shape, LabelName = "label",
            ClassNames = Enumerable.Range(0, classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), Labels = labels,
        };
    }

    private static string? LabelPath(string imagePath)
    {
        string name = Path.GetFileName(imagePath);
        string labels = name.Replace("images", "labels", StringComparison.Ordinal).Replace("idx3", "idx1", StringComparison.Ordinal);
        string candidate = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(imagePath))!, labels);
        return labels != name && File.Exists(candidate) ? candidate : null;
    }

    private static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new InputException($"Data file '{path}' not found.");
        using var file = File.OpenRead(path);
        using var buffer = new MemoryStream();
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) new GZipStream(file, CompressionMode.Decompress).CopyTo(buffer);
        else file.CopyTo(buffer);
        return buffer.ToArray();
    }
}
