namespace ReflectedDiffusion.Cli;

/// <summary>Entry point of rdiff: dispatches commands and maps failures to exit codes (0 ok, 2 bad usage or input, 1 other).</summary>
public static class Cli
{
    /// <summary>Usage text.</summary>
    public const string Usage = """
        rdiff: reflected diffusion models from the command line.

          rdiff train  --data FILE --out MODEL.zip [--label COLUMN] [--features C1,C2,...] [--image HxW[xC]]
                       [--steps N] [--batch-size B] [--network auto|mlp|unet] [--weighting sigma2|likelihood]
                       [--bounds unit|data] [--sigma-min S] [--likelihood-flow plain|folded] [--seed S] [--device cpu|cuda]
               FILE: a CSV file with a header row, a folder with one subfolder of images per class, or an IDX
               image file (labels from the IDX label file next to it). Images become pixel values in [0, 1].
               --network auto: the U-Net for images when training on CUDA, the residual MLP otherwise.
               --likelihood-flow folded: the likelihood ODE folds into the box after each step, so rows unlike
               the training data score low instead of running off (for anomaly scores; plain, as in the paper).
          rdiff sample --model MODEL.zip --count N --out FILE.csv|FILE.png [--label VALUE] [--guidance W]
                       [--sampler ode|sde|pc] [--steps K] [--seed S]
          rdiff score  --model MODEL.zip --data FILE --out FILE.csv
          rdiff export --model MODEL.zip --out DIR [--steps K]
          rdiff demo   [--out DIR] [--steps N] [--samples PER_CLASS] [--score-rows N] [--seed S]
               trains a class-conditional model on the embedded 8x8 digits and writes samples and a report.

        Exit codes: 0 success, 2 bad usage or input, 1 any other failure.
        """;

    /// <summary>Runs one command; returns the exit code. <paramref name="cancel"/> stops training and sampling (Ctrl+C).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancel = default)
    {
        if (args.Length == 0) { error.WriteLine(Usage); return 2; }
        if (args[0] is "help" or "--help" or "-h") { output.WriteLine(Usage); return 0; }
        try
        {
            var rest = args[1..];
            switch (args[0])
            {
                case "train": Commands.Train(Arguments.Parse("train", rest, "data", "out", "label", "features", "image", "steps", "batch-size", "network", "weighting", "bounds", "sigma-min", "likelihood-flow", "seed", "device"), output, cancel); break;
                case "sample": Commands.Sample(Arguments.Parse("sample", rest, "model", "count", "out", "label", "guidance", "sampler", "steps", "seed"), output, cancel); break;
                case "score": Commands.Score(Arguments.Parse("score", rest, "model", "data", "out"), output); break;
                case "export": Commands.Export(Arguments.Parse("export", rest, "model", "out", "steps"), output); break;
                case "demo": Demo.Run(Arguments.Parse("demo", rest, "out", "steps", "samples", "score-rows", "seed"), output, cancel); break;
                default: throw new InputException($"Unknown command '{args[0]}'. Commands: train, sample, score, export, demo ('rdiff --help' for usage).");
            }
            return 0;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error.WriteLine("rdiff: cancelled; nothing was written.");
            return 1;
        }
        catch (InputException e)
        {
            error.WriteLine($"rdiff: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            error.WriteLine($"rdiff: {e.GetType().Name}: {e.Message}");
            error.WriteLine(e.StackTrace);
            return 1;
        }
    }
}
