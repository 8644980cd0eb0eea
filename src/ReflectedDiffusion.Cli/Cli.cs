using System.CommandLine;
using System.CommandLine.Invocation;

namespace ReflectedDiffusion.Cli;

/// <summary>What the commands write to and what stops them.</summary>
internal sealed record CliContext(TextWriter Output, CancellationToken Cancel)
{
    /// <summary>Progress of long work on <see cref="Output"/>.</summary>
    public ProgressReporter Progress { get; } = ProgressReporter.For(Output);
}

/// <summary>
/// Entry point of rdiff: the command tree (System.CommandLine: typed options, generated help, completion through the
/// [suggest] directive) and the exit codes: 0 success, 2 bad usage or bad input, 1 any other failure or cancellation.
/// </summary>
public static class Cli
{
    /// <summary>The commands, their options and actions, writing to <paramref name="output"/>.</summary>
    internal static RootCommand Commands(TextWriter output, CancellationToken cancel = default)
    {
        var context = new CliContext(output, cancel);
        return new RootCommand("rdiff: reflected diffusion models from the command line: train on CSV or image files, sample, score, export, and report on synthetic tables. Exit codes: 0 success, 2 bad usage or input, 1 any other failure.")
        {
            TrainCommand.Create(context), SampleCommand.Create(context), ScoreCommand.Create(context), ExportCommand.Create(context), ReportCommand.Create(context), Demo.Create(context),
        };
    }

    /// <summary>Runs one command; returns the exit code. <paramref name="cancel"/> stops training and sampling (Ctrl+C).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancel = default)
    {
        var parsed = Commands(output, cancel).Parse(args);
        // Exceptions come back here to be mapped to exit codes; Ctrl+C is the program's to handle.
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        if (parsed.Action is ParseErrorAction) return UsageError(parsed, args, error);
        try
        {
            return parsed.Invoke(invocation);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error.WriteLine("rdiff: cancelled; nothing was written.");
            return 1;
        }
        catch (Exception e) when (e is InputException or Tables.TableInputException)
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

    // Parse errors (unknown options, bad values, missing required options): each on its own line, then where help is.
    private static int UsageError(ParseResult parsed, string[] args, TextWriter error)
    {
        if (args.Length == 0)
        {
            parsed.RootCommandResult.Command.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = error });
            return 2;
        }
        foreach (var e in parsed.Errors) error.WriteLine($"rdiff: {e.Message}");
        var command = parsed.CommandResult.Command;
        error.WriteLine($"See 'rdiff {(command is RootCommand ? "" : command.Name + " ")}--help'.");
        return 2;
    }
}
