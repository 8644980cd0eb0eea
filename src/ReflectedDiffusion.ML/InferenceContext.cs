using Microsoft.ML;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The MLContext our transformers build their ONNX stages with. ML.NET copies every ONNX model it is handed as a
/// stream to a temporary file it never deletes; pointing <see cref="MLContext.TempFilePath"/> at a folder of ours
/// keeps those copies together, and the folder is removed when the transformer is disposed.
/// </summary>
internal sealed class InferenceContext : IDisposable
{
    private InferenceContext(string folder)
    {
        Folder = folder;
        Context = new MLContext { TempFilePath = folder };
    }

    public MLContext Context { get; }
    public string Folder { get; }

    public static InferenceContext Create() => new(Directory.CreateTempSubdirectory("rdiff-onnx-").FullName);

    public static implicit operator MLContext(InferenceContext c) => c.Context;

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { } // a file still open by a session: leave the folder to the OS temp cleaner
        catch (UnauthorizedAccessException) { }
    }
}
