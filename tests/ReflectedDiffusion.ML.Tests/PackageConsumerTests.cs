using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using ReflectedDiffusion.Testing;
using Xunit;
using Xunit.Abstractions;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>
/// What a new user does, outside this repository: pack the libraries into a local folder feed, make a fresh console app,
/// add the ML package from that feed (nothing else), paste the README's ML.NET snippet and run it. This is the check that
/// the TorchSharp native fix and the CPU backend travel with the packages. Slow (pack, restore and build of a new app,
/// about 0.8 GB of native files copied into the app's output), so it shares the torch collection: nothing else trains
/// beside the app's libtorch.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class PackageConsumerTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Libraries = ["ReflectedDiffusion.Tables", "ReflectedDiffusion.Core", "ReflectedDiffusion.Onnx", "ReflectedDiffusion.ML"];

    // The README's ML.NET snippet, cut down: a few random rows in [0, 1], a few training steps, Transform, read LogLikelihood.
    private const string Program = """
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using ReflectedDiffusion.ML;

        var ml = new MLContext(seed: 1);
        var rng = new Random(1);
        var train = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 64)
            .Select(_ => new Row { Features = [rng.NextSingle(), rng.NextSingle(), rng.NextSingle()] }).ToList());

        var pipeline = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions
        {
            FeatureColumnName = "Features", NumberOfSteps = 20, BatchSize = 32, LikelihoodSteps = 10, Context = ml,
        });
        var model = pipeline.Fit(train);
        var scored = model.Transform(train);
        foreach (var logp in scored.GetColumn<float>("LogLikelihood").Take(8))
            Console.WriteLine($"LogLikelihood {logp.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");

        public sealed class Row
        {
            [VectorType(3)] public float[] Features = [];
        }

        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("rd-package-").FullName;
    private string? _version;

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        // The app's restore unpacked this run's packages (a version used once) into the global packages folder.
        if (_version is null) return;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Libraries)
        {
            var folder = Path.Combine(packages, id.ToLowerInvariant());
            var version = Path.Combine(folder, _version.ToLowerInvariant());
            if (Directory.Exists(version)) Directory.Delete(version, recursive: true);
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
    }

    [Fact]
    public void AFreshConsoleAppRunsTheReadmeSnippetFromLocalPackages()
    {
        var repo = RepositoryRoot();
        Assert.False(_dir.StartsWith(repo + Path.DirectorySeparatorChar, StringComparison.Ordinal), $"{_dir} lies inside the repository");
        var feed = Path.Combine(_dir, "feed");

        // 1. Pack the libraries (eng/packages.slnf: Tables, Core, Onnx, ML) with a fresh version, so no cached package of the
        //    same version is used; build output goes to the temporary folder, not the repository's bin and obj folders.
        var suffix = "pkgtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "." + Environment.ProcessId;
        Dotnet(repo, TimeSpan.FromMinutes(10), "pack", "eng/packages.slnf", "-c", "Release", "-o", feed,
            "--artifacts-path", Path.Combine(_dir, "artifacts"), "--version-suffix", suffix);
        var package = Directory.GetFiles(feed, "ReflectedDiffusion.ML.*.nupkg").Single();
        _version = Path.GetFileNameWithoutExtension(package)["ReflectedDiffusion.ML.".Length..];
        Assert.Equal(Libraries.Select(id => $"{id}.{_version}.nupkg").Order(), Directory.GetFiles(feed).Select(f => Path.GetFileName(f)).Order());

        // 2. A nuget.config next to the app: the local feed and the repository's own sources.
        File.WriteAllText(Path.Combine(_dir, "nuget.config"), NuGetConfig(Path.Combine(repo, "NuGet.config"), feed));

        // 3. A fresh console app with the ML package, and the snippet.
        Dotnet(_dir, TimeSpan.FromMinutes(3), "new", "console", "-n", "App", "-o", "App");
        var app = Path.Combine(_dir, "App");
        Dotnet(app, TimeSpan.FromMinutes(5), "add", "package", "ReflectedDiffusion.ML", "--version", _version);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);

        // 4. Run it.
        var run = Dotnet(app, TimeSpan.FromMinutes(10), "run", "-c", "Release");
        var values = run.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("LogLikelihood ", StringComparison.Ordinal))
            .Select(l => double.Parse(l["LogLikelihood ".Length..], CultureInfo.InvariantCulture)).ToArray();
        Assert.True(values.Length == 8, $"expected 8 log-likelihoods, got:\n{run}");
        Assert.All(values, v => Assert.True(double.IsFinite(v), $"not finite: {v}"));
    }

    // Runs dotnet as a user's shell would, minus what the test runner's own MSBuild left in the environment; no build
    // servers or reused nodes, which would outlive the command. Returns standard output; fails with both streams.
    private string Dotnet(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0", ["UseSharedCompilation"] = "false",
        };
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>())
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)) environment[name] = null;
        environment["MSBUILDDISABLENODEREUSE"] = "1";

        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = DotnetProcess.Command(args, workingDirectory, environment, timeout);
        output.WriteLine($"dotnet {string.Join(' ', args)}: exit {code}, {clock.Elapsed.TotalSeconds:F0} s");
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} (in {workingDirectory}) failed with exit code {code}:\n{stdout}\n{stderr}");
        return stdout;
    }

    // The repository's NuGet.config with the local feed added as the first source.
    private static string NuGetConfig(string repositoryConfig, string feed)
    {
        var config = XDocument.Load(repositoryConfig);
        var sources = config.Root!.Element("packageSources") ?? throw new InvalidOperationException($"{repositoryConfig} has no packageSources");
        var local = new XElement("add", new XAttribute("key", "local-packages"), new XAttribute("value", feed));
        if (sources.Element("clear") is { } clear) clear.AddAfterSelf(local);
        else sources.AddFirst(local);
        return config.ToString();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLNetReflectedDiffusion.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no MLNetReflectedDiffusion.sln above {AppContext.BaseDirectory}");
    }
}
