using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Xunit;

namespace ReflectedDiffusion.Cli.Tests;

/// <summary>
/// 'rdiff train --checkpoint-path' killed with SIGKILL mid-training and started again: the model file equals the one an
/// uninterrupted run writes, entry for entry (weights, graphs, options).
/// </summary>
public sealed class ResumeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rdiff-resume-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Train =
    [
        "train", "--data", "data.csv", "--out", "model.zip", "--bounds", "unit", "--steps", "400", "--batch-size", "64", "--hidden-width", "16",
        "--blocks", "1", "--sigma-min", "0.05", "--likelihood-steps", "4", "--threshold", "1", "--seed", "2",
        "--checkpoint-path", "checkpoint.bin", "--checkpoint-interval", "20",
    ];

    private string Folder(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var rng = new Random(3);
        File.WriteAllLines(Path.Combine(folder, "data.csv"), ["a,b,c", .. Enumerable.Range(0, 200).Select(_ =>
            string.Join(',', Enumerable.Range(0, 3).Select(j => (0.2 + 0.6 * rng.NextDouble() * (j + 1) / 3).ToString("F4", CultureInfo.InvariantCulture))))]);
        return folder;
    }

    private static ProcessStartInfo Rdiff(string folder)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rdiff.dll"));
        foreach (var a in Train) start.ArgumentList.Add(a);
        return start;
    }

    private static string RunToEnd(string folder)
    {
        var (code, output, error) = Testing.DotnetProcess.Command([Path.Combine(AppContext.BaseDirectory, "rdiff.dll"), .. Train], folder, null, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, error);
        return output;
    }

    private static Dictionary<string, byte[]> Entries(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        return archive.Entries.ToDictionary(e => e.FullName, e => { using var s = e.Open(); using var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); });
    }

    [Fact]
    public void TrainingKilledAfterACheckpointResumesToTheUninterruptedModel()
    {
        string killed = Folder("killed"), whole = Folder("whole");
        using (var process = Process.Start(Rdiff(killed))!)
        {
            var watch = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(killed, "checkpoint.bin")) && !process.HasExited && watch.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(5);
            process.Kill(); // SIGKILL on Linux
            process.WaitForExit();
        }
        Assert.True(File.Exists(Path.Combine(killed, "checkpoint.bin")), "no checkpoint was written before the kill");
        Assert.False(File.Exists(Path.Combine(killed, "model.zip")), "the run finished before it was killed");

        // The same command again: it finds the checkpoint and resumes (a checkpoint from other settings would be refused).
        Assert.Contains("Resuming from the checkpoint checkpoint.bin", RunToEnd(killed));
        Assert.DoesNotContain("Resuming", RunToEnd(whole));
        var resumed = Entries(Path.Combine(killed, "model.zip"));
        var uninterrupted = Entries(Path.Combine(whole, "model.zip"));
        Assert.Equal(uninterrupted.Keys.Order(), resumed.Keys.Order());
        foreach (var (name, bytes) in uninterrupted) Assert.True(bytes.AsSpan().SequenceEqual(resumed[name]), $"entry {name} differs");
    }
}
