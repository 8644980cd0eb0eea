using System.CommandLine;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Cli;

/// <summary>'rdiff export': writes the model's ONNX graphs and their description for use outside .NET.</summary>
internal static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var model = CommonOptions.Model();
        var output = CommonOptions.Required("--out", "The folder to write likelihood.onnx, generation.onnx and model.json to.");
        var steps = CommonOptions.Tool("--steps", "Heun steps of the generation graph.", GenerationOptions.DefaultHeunSteps);
        var command = new Command("export", "Writes the likelihood and generation graphs (ONNX) and model.json.") { model, output, steps };
        command.SetAction(p => Export(context, p.GetRequiredValue(model), p.GetRequiredValue(output), p.GetValue(steps)));
        return command;
    }

    private static void Export(CliContext context, string modelPath, string dir, int steps)
    {
        using var bundle = ModelBundle.Load(modelPath);
        InputErrors.Translate(() => { bundle.Transformer.ExportOnnx(dir, steps); return 0; }, name => name == "generationSteps" ? "--steps" : null);
        context.Output.WriteLine($"Wrote likelihood.onnx, generation.onnx and model.json to {dir}.");
    }
}
