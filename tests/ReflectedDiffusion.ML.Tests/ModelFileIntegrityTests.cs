using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.IO;
using Xunit;
using Xunit.Abstractions;

namespace ReflectedDiffusion.ML.Tests;

/// <summary>Model files with a manifest: damage of any kind is refused naming the entry, never a crash, a hang or a silent change.</summary>
[Collection(TorchCollection.Name)]
public sealed class ModelFileIntegrityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rd-integrity-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A tiny fitted model: a few seconds to train, a few hundred kilobytes saved.</summary>
    internal static ReflectedDiffusionTransformer TinyModel(MLContext ml, out IDataView data)
    {
        var rng = new Random(7);
        data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 64).Select(_ => new VectorRow { Features = [(float)rng.NextDouble(), (float)rng.NextDouble() * 0.5f, 0.25f + 0.5f * (float)rng.NextDouble()] }).ToList());
        var options = new ReflectedDiffusionOptions { Bounds = BoundsSource.Unit, SigmaMin = 0.02, NumberOfSteps = 20, BatchSize = 32, HiddenWidth = 16, Blocks = 1, LikelihoodSteps = 4, Seed = 3, Threshold = 1 };
        return ml.Transforms.ReflectedDiffusion(options).Fit(data);
    }

    private string SavedModel(out float[] scores, out IDataView data)
    {
        var ml = new MLContext(seed: 1);
        using var model = TinyModel(ml, out data);
        scores = model.Transform(data).GetColumn<float>("LogLikelihood").ToArray();
        string path = Path.Combine(_dir, "model.zip");
        ml.Model.SaveWithManifest(model, data.Schema, path);
        return path;
    }

    private static Dictionary<string, byte[]> Entries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.ToDictionary(e => e.FullName, e => { using var s = e.Open(); using var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); });
    }

    private static byte[] Rewritten(byte[] zip, Action<ZipArchive> edit)
    {
        var copy = new MemoryStream();
        copy.Write(zip);
        using (var archive = new ZipArchive(copy, ZipArchiveMode.Update, leaveOpen: true)) edit(archive);
        return copy.ToArray();
    }

    private static void Replace(ZipArchive archive, string name, byte[] content)
    {
        archive.GetEntry(name)?.Delete();
        using var s = archive.CreateEntry(name).Open();
        s.Write(content);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void VerifiedFilesLoadWithTheSameScoresAndDamageIsNamed()
    {
        string path = SavedModel(out var scores, out var data);
        var ml = new MLContext().RegisterReflectedDiffusion();
        var loaded = ml.Model.LoadVerified(path, out var schema);
        Assert.Equal(data.Schema.Select(c => c.Name), schema.Select(c => c.Name));
        Assert.Equal(scores, loaded.Transform(data).GetColumn<float>("LogLikelihood").ToArray(), (a, b) => System.Math.Abs(a - b) <= 1e-4 * System.Math.Max(1, System.Math.Abs(a)));
        (loaded as IDisposable)?.Dispose();

        var original = File.ReadAllBytes(path);
        var entries = Entries(original);
        Assert.Contains(ModelManifest.EntryName, entries.Keys);
        // The ONNX graph ML.NET stores: the biggest entry besides the manifest.
        string graph = entries.Where(e => e.Key != ModelManifest.EntryName).MaxBy(e => e.Value.Length).Key;
        var altered = entries[graph].ToArray();
        altered[altered.Length / 2] ^= 0x10;

        string Refusal(byte[] bytes) => Assert.Throws<InvalidDataException>(() => ml.Model.LoadVerified(Write("damaged.zip", bytes), out _)).Message;
        Assert.Contains($"entry '{graph}' does not match its SHA-256", Refusal(Rewritten(original, a => Replace(a, graph, altered))));
        Assert.Contains("entry name '../escape.txt'", Refusal(Rewritten(original, a => Replace(a, "../escape.txt", [1, 2, 3]))));
        Assert.Contains("entry 'extra.bin' is not in the manifest", Refusal(Rewritten(original, a => Replace(a, "extra.bin", [1]))));
        Assert.Contains($"entry '{graph}' listed in the manifest is missing", Refusal(Rewritten(original, a => a.GetEntry(graph)!.Delete())));
        Assert.Contains($"the manifest ({ModelManifest.EntryName}) is not valid JSON", Refusal(Rewritten(original, a => Replace(a, ModelManifest.EntryName, "{ not json"u8.ToArray()))));
        Assert.Contains("holds no integrity manifest", Refusal(Rewritten(original, a => a.GetEntry(ModelManifest.EntryName)!.Delete())));
        Assert.Contains("not a readable zip archive", Refusal([]));
        Assert.Contains("not a readable zip archive", Refusal(original[..(original.Length / 2)]));
        var random = new byte[4096];
        new Random(1).NextBytes(random);
        Assert.Contains("not a readable zip archive", Refusal(random));
        Assert.Contains("declares 4294967280 bytes", Refusal(WithDeclaredSize(original, graph, 0xFFFFFFF0)));
    }

    // The central directory's uncompressed size of one entry set to a huge value (the local header is left alone).
    private static byte[] WithDeclaredSize(byte[] zip, string entry, uint size)
    {
        var bytes = zip.ToArray();
        var name = System.Text.Encoding.UTF8.GetBytes(entry);
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) != 0x02014b50) continue;
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 28));
            if (!bytes.AsSpan(i + 46, nameLength).SequenceEqual(name)) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
            return bytes;
        }
        throw new InvalidOperationException($"no central directory record for '{entry}'");
    }

    [Fact]
    public void MutatedModelFilesAreRefusedOrReadUnchanged()
    {
        // 200 random mutations (bit flips, overwritten ranges, truncations, extensions) of a saved file, each loaded through
        // LoadVerified: refused with an InvalidDataException, or loaded because every entry's content is intact (a flip
        // in zip bookkeeping that no reader uses). Any other exception, or a changed entry that loads, fails the test.
        string path = SavedModel(out _, out var data);
        var original = File.ReadAllBytes(path);
        var intact = Entries(original);
        var ml = new MLContext().RegisterReflectedDiffusion();
        var outcomes = new Dictionary<string, int>();
        var rng = new Random(11);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (int trial = 0; trial < 200; trial++)
        {
            var (kind, mutated) = Testing.ModelFileMutations.Mutate(original, rng);
            string file = Write($"mutated-{trial % 4}.zip", mutated);
            string outcome;
            try
            {
                var loaded = ml.Model.LoadVerified(file, out _);
                (loaded as IDisposable)?.Dispose();
                var now = Entries(mutated);
                Assert.True(now.Count == intact.Count && now.All(e => intact.TryGetValue(e.Key, out var b) && b.AsSpan().SequenceEqual(e.Value)),
                    $"trial {trial} ({kind}): a file with changed entries was accepted");
                outcome = "accepted, entries intact";
            }
            catch (InvalidDataException e)
            {
                Assert.Contains(file, e.Message);
                outcome = "refused";
            }
            outcomes[$"{kind}: {outcome}"] = outcomes.GetValueOrDefault($"{kind}: {outcome}") + 1;
        }
        foreach (var (k, v) in outcomes.OrderBy(o => o.Key)) output.WriteLine($"{k}: {v}");
        output.WriteLine($"200 mutations in {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(outcomes.Where(o => o.Key.EndsWith("refused")).Sum(o => o.Value) > 150, "most mutations touch data and must be refused");
    }
}
