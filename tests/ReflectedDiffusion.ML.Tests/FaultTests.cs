using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>A process killed (SIGKILL) during a save: the previous model file stays, byte for byte, and still loads.</summary>
[Collection(TorchCollection.Name)]
public sealed class FaultTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rdiff-faults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AProcessKilledDuringASaveLeavesThePreviousModelFile()
    {
        var ml = new MLContext(seed: 1);
        using var model = ModelFileIntegrityTests.TinyModel(ml, out var data);
        string target = Path.Combine(_dir, "model.zip"), other = Path.Combine(_dir, "other.zip");
        ml.Model.SaveWithManifest(model, data.Schema, target);
        var before = File.ReadAllBytes(target);
        File.WriteAllBytes(other, [.. before.Reverse()]); // any other content: the save that is killed

        // A separate process saves over the model through AtomicFile (every model save's path) and is killed with SIGKILL
        // once half the new bytes are written: no finally block, no flush, no rename runs.
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var child = here.Replace("ReflectedDiffusion.ML.Tests", "ReflectedDiffusion.ML.LoadCheck") + Path.DirectorySeparatorChar + "ReflectedDiffusion.ML.LoadCheck.dll";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { child, "save-and-hang", other, target }) start.ArgumentList.Add(a);
        using (var process = Process.Start(start)!)
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.True(line == "half written", $"the saving process did not reach the middle of its save: {line}");
            process.Kill(); // SIGKILL on Linux
            process.WaitForExit();
        }

        Assert.Equal(before, File.ReadAllBytes(target));
        var leftover = Assert.Single(Directory.GetFiles(_dir, ".model.zip.*.tmp")); // the killed save's half-written temporary
        Assert.Equal(before.Length / 2, new FileInfo(leftover).Length);
        var loaded = new MLContext().RegisterReflectedDiffusion().Model.LoadVerified(target, out _);
        Assert.Equal(model.Transform(data).GetColumn<float>("LogLikelihood").ToArray(), loaded.Transform(data).GetColumn<float>("LogLikelihood").ToArray());
        (loaded as IDisposable)?.Dispose();
    }
}
