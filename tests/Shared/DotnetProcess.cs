using System.Diagnostics;

namespace ReflectedDiffusion.Testing;

/// <summary>Runs <c>dotnet</c> (a built assembly, as a user's program would run, or a CLI command) or another program in a separate process, with a time limit.</summary>
internal static class DotnetProcess
{
    /// <summary>Exit code and standard error of <c>dotnet assembly args...</c>; throws if it outlives <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Error) Run(string assembly, IEnumerable<string> args, TimeSpan timeout)
    {
        if (!File.Exists(assembly)) throw new FileNotFoundException($"{assembly} is not built.", assembly);
        var (code, _, error) = Command([assembly, .. args], workingDirectory: null, environment: null, timeout);
        return (code, error);
    }

    /// <summary>
    /// Exit code, standard output and standard error of <c>dotnet args...</c> run in <paramref name="workingDirectory"/>
    /// (the current folder when null), with <paramref name="environment"/> set (a null value removes a variable);
    /// throws if it outlives <paramref name="timeout"/>.
    /// </summary>
    public static (int ExitCode, string Output, string Error) Command(IEnumerable<string> args, string? workingDirectory,
        IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout)
        => Program("dotnet", args, workingDirectory, environment, timeout);

    /// <summary>
    /// <see cref="Command"/> for any program on the PATH (node, npm); a program that cannot be started is an
    /// <see cref="InvalidOperationException"/> naming it.
    /// </summary>
    public static (int ExitCode, string Output, string Error) Program(string program, IEnumerable<string> args, string? workingDirectory,
        IReadOnlyDictionary<string, string?>? environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        string line = $"{program} {string.Join(' ', start.ArgumentList)}";
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"{line}: '{program}' could not be started ({e.Message}).", e); }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{line} did not finish in {timeout.TotalSeconds:F0} s.");
            }
            // A child left running (a build server, say) would hold the pipes open; do not wait for it for ever.
            if (!Task.WaitAll([output, error], TimeSpan.FromMinutes(1)))
                throw new TimeoutException($"{line} exited, but a process it started still holds its output.");
            return (process.ExitCode, output.Result, error.Result);
        }
    }
}
