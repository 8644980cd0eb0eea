using System.Text.Json;
using ReflectedDiffusion.IO;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Writes a trained model's graphs for use outside .NET: likelihood.onnx, generation.onnx and model.json, which names
/// each graph's inputs and outputs (as the graphs themselves define them), the bounds and the classes.
/// </summary>
public static class ModelExport
{
    /// <summary>
    /// Writes the files into <paramref name="directory"/>. <paramref name="likelihoodGraph"/> is a compiled likelihood
    /// graph of <paramref name="model"/> with the given input and output names; the generation graph is compiled here
    /// with <paramref name="generationSteps"/> Heun steps and its default names. Each file is written atomically.
    /// </summary>
    public static void Write(string directory, ScoreModel model, byte[] likelihoodGraph, string likelihoodInput = "Features",
        string logLikelihoodOutput = LikelihoodGraph.LogLikelihoodOutput, string bitsPerDimensionOutput = LikelihoodGraph.BitsPerDimensionOutput,
        int generationSteps = 100)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(likelihoodGraph);
        if (generationSteps <= 0) throw new ArgumentOutOfRangeException(nameof(generationSteps), generationSteps, "Steps must be positive.");
        Directory.CreateDirectory(directory);
        var config = model.Network.Config;
        AtomicFile.Write(Path.Combine(directory, "likelihood.onnx"), s => s.Write(likelihoodGraph));
        AtomicFile.Write(Path.Combine(directory, "generation.onnx"), s => s.Write(GenerationGraph.Build(model, generationSteps)));
        static object Port(string name, string type, params object[] shape) => new { name, type, shape };
        var description = new
        {
            likelihood = new
            {
                file = "likelihood.onnx", opset = GenerationGraph.Opset,
                inputs = new[] { Port(likelihoodInput, "float32", "N", config.Dimension) },
                outputs = new[] { Port(logLikelihoodOutput, "float32", "N"), Port(bitsPerDimensionOutput, "float32", "N") },
            },
            generation = new
            {
                file = "generation.onnx", opset = GenerationGraph.Opset, steps = generationSteps,
                inputs = config.IsConditional
                    ? new[] { Port(GenerationGraph.SeedInput, "int64", "N", 1), Port(GenerationGraph.LabelInput, "int64", "N", 1), Port(GenerationGraph.GuidanceInput, "float32", "N", 1) }
                    : new[] { Port(GenerationGraph.SeedInput, "int64", "N", 1) },
                outputs = new[] { Port(GenerationGraph.GeneratedOutput, "float32", "N", config.Dimension) },
            },
            bounds = new { lower = model.Bounds.Lower, upper = model.Bounds.Upper },
            classes = config.NumClasses,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(description, new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.Write(Path.Combine(directory, "model.json"), s => s.Write(json));
    }
}
