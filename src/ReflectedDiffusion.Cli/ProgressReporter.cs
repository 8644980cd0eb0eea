using Spectre.Console;

namespace ReflectedDiffusion.Cli;

/// <summary>Reports how far a stage of work is: <paramref name="done"/> of <paramref name="total"/>, with an optional detail (the loss, say).</summary>
internal delegate void ProgressUpdate(long done, long total, string detail = "");

/// <summary>
/// Progress of long work (training, sampling, scoring): a Spectre.Console progress bar when the output is an
/// interactive console, plain lines (one per tenth of the work) when it is redirected or is not the console, so that
/// logs and captured output stay readable.
/// </summary>
internal abstract class ProgressReporter
{
    /// <summary>The reporter for <paramref name="output"/>: a bar only on the interactive console itself.</summary>
    public static ProgressReporter For(TextWriter output)
        => output == Console.Out && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? new Bar() : new Lines(output);

    /// <summary>Runs <paramref name="work"/> as one stage named <paramref name="stage"/>; the work reports through the callback it gets.</summary>
    public abstract T Run<T>(string stage, Func<ProgressUpdate, T> work);

    private static double Fraction(long done, long total) => total <= 0 ? 1 : System.Math.Clamp((double)done / total, 0, 1);

    private sealed class Lines(TextWriter output) : ProgressReporter
    {
        public override T Run<T>(string stage, Func<ProgressUpdate, T> work)
        {
            int lastTenth = -1;
            return work((done, total, detail) =>
            {
                double fraction = Fraction(done, total);
                int tenth = (int)(fraction * 10);
                if (tenth == lastTenth) return;
                lastTenth = tenth;
                output.WriteLine($"{stage}: {done}/{total} ({fraction:P0}) {detail}".TrimEnd());
            });
        }
    }

    private sealed class Bar : ProgressReporter
    {
        public override T Run<T>(string stage, Func<ProgressUpdate, T> work)
            => AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask(Markup.Escape(stage));
                    var result = work((done, total, detail) =>
                    {
                        task.MaxValue = System.Math.Max(1, total);
                        task.Value = System.Math.Min(done, task.MaxValue);
                        task.Description = Markup.Escape(detail.Length == 0 ? stage : $"{stage} ({detail})");
                    });
                    task.Value = task.MaxValue;
                    return result;
                });
    }
}
