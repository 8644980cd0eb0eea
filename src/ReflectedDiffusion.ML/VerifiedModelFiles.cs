using Microsoft.ML;
using ReflectedDiffusion.IO;

namespace ReflectedDiffusion.ML;

/// <summary>
/// ML.NET model files with an integrity manifest (<see cref="ModelManifest"/>): <c>mlContext.Model.SaveWithManifest</c>
/// writes the file atomically with the SHA-256 of every entry; <c>mlContext.Model.LoadVerified</c> checks them all
/// before ML.NET deserialises anything. Plain <c>mlContext.Model.Load</c> has no hook that runs first, so it cannot
/// check a file; call <see cref="ModelManifest.Verify(string)"/> before it, or load through these methods. Both give
/// this library's scoring stages a batched <c>Transform</c> (<see cref="LoadBatched"/>).
/// </summary>
public static class VerifiedModelFiles
{
    /// <summary>
    /// Saves <paramref name="model"/> as <c>mlContext.Model.Save</c> does, adds the manifest, and writes the file
    /// atomically (a temporary file, then a rename): a failed or cancelled save leaves the previous file in place.
    /// </summary>
    public static void SaveWithManifest(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(filePath);
        using var buffer = new MemoryStream();
        catalog.Save(model, inputSchema, buffer);
        ModelManifest.Add(buffer);
        AtomicFile.Write(filePath, s => s.Write(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>
    /// Reads <paramref name="filePath"/> once, verifies every entry against its manifest (an
    /// <see cref="InvalidDataException"/> naming the entry when anything is damaged, missing or added), and loads the
    /// verified bytes with <c>mlContext.Model.Load</c>. Register this library first
    /// (<see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>). Load only files from sources you trust: a
    /// model file holds ONNX graphs that ONNX Runtime executes, and the manifest detects damage, not malice.
    /// </summary>
    public static ITransformer LoadVerified(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (!File.Exists(filePath)) throw new FileNotFoundException($"Model file '{filePath}' not found.", filePath);
        using var bytes = ReadVerified(filePath);
        return catalog.LoadBatched(bytes, out inputSchema);
    }

    /// <summary>
    /// Loads a model as <c>mlContext.Model.Load</c> does, then gives this library's scoring stages a batched
    /// <c>Transform</c>: ML.NET's built-in chain runs the likelihood graph one row at a time, the batched stage runs
    /// the same graph bytes in batches of <paramref name="scoringBatchSize"/> rows through one ONNX Runtime session on
    /// the CPU (the same values, 2 to 20 times faster). Prediction engines and saving stay those of the built-in chain, so a
    /// model saved again is the same file format. Register this library first
    /// (<see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>); it does not verify the file (see
    /// <see cref="LoadVerified"/>).
    /// </summary>
    public static ITransformer LoadBatched(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema, int scoringBatchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        if (scoringBatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(scoringBatchSize), scoringBatchSize, "The batch size must be positive.");
        // The file is read twice (ML.NET, then the graphs' entries), from its start: a stream that cannot seek back there is copied.
        using var copy = stream.CanSeek && stream.Position == 0 ? null : Buffered(stream);
        var bytes = copy ?? stream;
        var loaded = catalog.Load(bytes, out inputSchema);
        bytes.Position = 0;
        return BatchedScoringTransformer.Rewrite(loaded, bytes, scoringBatchSize);
    }

    private static MemoryStream Buffered(Stream stream)
    {
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }

    /// <summary>The bytes of a model file after <see cref="ModelManifest.Verify(Stream, string)"/> accepted them, positioned at 0.</summary>
    public static MemoryStream ReadVerified(string filePath)
    {
        var info = new FileInfo(filePath);
        if (info.Length > Array.MaxLength) throw new InvalidDataException($"'{filePath}' is {info.Length} bytes; model files up to {Array.MaxLength} bytes are read.");
        var bytes = new MemoryStream(File.ReadAllBytes(filePath), writable: false);
        ModelManifest.Verify(bytes, filePath);
        bytes.Position = 0;
        return bytes;
    }
}
