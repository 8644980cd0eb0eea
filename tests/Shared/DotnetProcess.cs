using System.Diagnostics;

namespace ReflectedDiffusion.Testing;

/// <summary>Runs a built .NET assembly in a separate process (as a user's program would), with a time limit.</summary>
internal static class DotnetProcess
{
    /// <summary>Exit code and standard error of <c>dotnet assembly args...</c>; throws if it outlives <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Error) Run(string assembly, IEnumerable<string> args, TimeSpan timeout)
    {
        if (!File.Exists(assembly)) throw new FileNotFoundException($"{assembly} is not built.", assembly);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(assembly);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(assembly)} did not finish in {timeout.TotalSeconds:F0} s.");
        }
        return (process.ExitCode, error.Result);
    }
}
