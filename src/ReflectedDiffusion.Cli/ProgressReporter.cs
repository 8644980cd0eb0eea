namespace ReflectedDiffusion.Cli;

/// <summary>
/// Progress of long work: a bar redrawn in place when the output is a terminal, plain lines (one per tenth of the
/// work) when it is redirected, so logs stay readable.
/// </summary>
internal sealed class ProgressReporter(TextWriter output, bool interactive)
{
    private int _lastTenth = -1;
    private string _stage = "";

    public static ProgressReporter ForConsole(TextWriter output) => new(output, !Console.IsOutputRedirected && output == Console.Out);

    public void Report(string stage, long done, long total, string detail = "")
    {
        if (stage != _stage) { _stage = stage; _lastTenth = -1; }
        double fraction = total <= 0 ? 1 : System.Math.Clamp((double)done / total, 0, 1);
        if (interactive)
        {
            int filled = (int)(fraction * 30);
            output.Write($"\r{stage} [{new string('#', filled)}{new string('.', 30 - filled)}] {fraction,4:P0} {detail}   ");
            if (done >= total) output.WriteLine();
            return;
        }
        int tenth = (int)(fraction * 10);
        if (tenth == _lastTenth) return;
        _lastTenth = tenth;
        output.WriteLine($"{stage}: {done}/{total} ({fraction:P0}) {detail}".TrimEnd());
    }
}
