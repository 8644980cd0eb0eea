using System.Globalization;
using System.Diagnostics;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Stress;

/// <summary>The stress checks: each trains a tiny model, runs, and prints what it saw.</summary>
internal static class Checks
{
    private sealed class Row
    {
        [VectorType(16)] public float[] Features = [];
    }

    private sealed class Scored
    {
        public float LogLikelihood { get; set; }
    }

    // A tiny model on 16 features in the unit box: a few seconds to train.
    private static ReflectedDiffusionTransformer TinyModel(MLContext ml, out IDataView data)
    {
        var rng = new Random(7);
        data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 256).Select(_ => new Row { Features = [.. Enumerable.Range(0, 16).Select(j => (float)(0.5 + 0.3 * System.Math.Sin(j + 3 * rng.NextDouble())))] }).ToList());
        var options = new ReflectedDiffusionOptions { Bounds = BoundsSource.Unit, SigmaMin = 0.02, NumberOfSteps = 50, BatchSize = 64, HiddenWidth = 32, Blocks = 1, LikelihoodSteps = 8, Seed = 3, Threshold = 1 };
        return ml.Transforms.ReflectedDiffusion(options).Fit(data);
    }

    /// <summary>Mutated model files through LoadVerified (the manifest) and plain mlContext.Model.Load: outcomes per kind.</summary>
    public static void Fuzz(int mutations)
    {
        var ml = new MLContext(seed: 1).RegisterReflectedDiffusion();
        string dir = Directory.CreateTempSubdirectory("rdiff-fuzz-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.zip");
            using (var model = TinyModel(ml, out var data)) ml.Model.SaveWithManifest(model, data.Schema, path);
            var original = File.ReadAllBytes(path);
            var intact = Entries(original)!;
            Console.WriteLine($"fuzz: {mutations} mutations of a {original.Length}-byte model file (seed 11)");
            var verified = new SortedDictionary<string, int>();
            var plain = new SortedDictionary<string, int>();
            var rng = new Random(11);
            var watch = Stopwatch.StartNew();
            string file = Path.Combine(dir, "mutated.zip");
            for (int i = 0; i < mutations; i++)
            {
                var (kind, bytes) = Testing.ModelFileMutations.Mutate(original, rng);
                File.WriteAllBytes(file, bytes);
                var entries = Entries(bytes);
                bool unchanged = entries is not null && entries.Count == intact.Count && entries.All(e => intact.TryGetValue(e.Key, out var b) && b.AsSpan().SequenceEqual(e.Value));
                Count(verified, $"{kind}: {Outcome(() => ml.Model.LoadVerified(file, out _), unchanged)}");
                Count(plain, $"{kind}: {Outcome(() => ml.Model.Load(file, out _), unchanged)}");
            }
            Console.WriteLine($"  LoadVerified (manifest checked first), {watch.Elapsed.TotalSeconds:F0} s for both loaders:");
            foreach (var (k, v) in verified) Console.WriteLine($"    {v,5}  {k}");
            Console.WriteLine("  plain mlContext.Model.Load (no check; for comparison):");
            foreach (var (k, v) in plain) Console.WriteLine($"    {v,5}  {k}");
            int bad = verified.Where(o => o.Key.Contains("ACCEPTED WITH CHANGED ENTRIES") || o.Key.Contains("hang") || o.Key.Contains("threw ")).Sum(o => o.Value);
            Console.WriteLine($"  LoadVerified: {bad} outcomes other than a named InvalidDataException or an intact file");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // What one load did: refused (and how), loaded with the entries intact, or loaded although they changed; a load
    // that outlives 60 s is a hang.
    private static string Outcome(Func<ITransformer> load, bool unchanged)
    {
        var task = Task.Run(() =>
        {
            try
            {
                var t = load();
                (t as IDisposable)?.Dispose();
                return unchanged ? "loaded, entries intact" : "ACCEPTED WITH CHANGED ENTRIES";
            }
            catch (InvalidDataException) { return "refused: InvalidDataException"; }
            catch (Exception e) { return $"threw {e.GetType().Name}"; }
        });
        return task.Wait(TimeSpan.FromSeconds(60)) ? task.Result : "hang (over 60 s)";
    }

    private static void Count(IDictionary<string, int> counts, string key) => counts[key] = counts.TryGetValue(key, out int n) ? n + 1 : 1;

    private static Dictionary<string, byte[]>? Entries(byte[] zip)
    {
        try
        {
            using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
            return archive.Entries.ToDictionary(e => e.FullName, e => { using var s = e.Open(); using var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); });
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException) { return null; }
    }

    /// <summary>Generation of many rows as a stream (GenerateStream), resident memory as it goes.</summary>
    public static void Stream(long rows, int steps)
    {
        var ml = new MLContext(seed: 1);
        using var model = TinyModel(ml, out _);
        var options = new GenerationOptions { Seed = 5, Steps = steps, BatchSize = 4096 };
        GC.Collect();
        Console.WriteLine($"stream: {rows} rows of 16 features, Heun {steps} steps, batches of {options.BatchSize}; before: {Memory()}");
        var watch = Stopwatch.StartNew();
        long n = 0;
        double checksum = 0;
        long next = 10_000;
        foreach (var row in model.Generator.GenerateStream(rows, options))
        {
            checksum += row[0];
            if (++n == next || n == rows)
            {
                var gc = GC.GetGCMemoryInfo();
                Console.WriteLine($"  {n,9} rows, {watch.Elapsed.TotalSeconds,6:F1} s: {Memory()}; managed heap {gc.HeapSizeBytes / 1e6:F0} MB, committed {gc.TotalCommittedBytes / 1e6:F0} MB");
                next *= 10;
            }
        }
        Console.WriteLine($"  {n / watch.Elapsed.TotalSeconds:F0} rows/s; mean first feature {checksum / n:F4}; the rows themselves would take {n * 16 * 4 / 1e6:F0} MB as floats");
    }

    // Resident and peak resident memory of this process (Linux).
    private static string Memory()
    {
        var status = File.Exists("/proc/self/status") ? File.ReadAllLines("/proc/self/status") : [];
        string Field(string name) => status.FirstOrDefault(l => l.StartsWith(name + ":"))?.Split(':')[1].Trim() ?? "?";
        return $"RSS {Field("VmRSS")}, peak {Field("VmHWM")}";
    }

    /// <summary>One transformer from many threads at once: batched Transform, a prediction engine each, generation.</summary>
    public static void Threads(int threads, int rounds)
    {
        var ml = new MLContext(seed: 1);
        using var model = TinyModel(ml, out var data);
        var view = ml.Data.LoadFromEnumerable(ml.Data.CreateEnumerable<Row>(data, reuseRowObject: false).Take(64).ToList());
        var rows = ml.Data.CreateEnumerable<Row>(view, reuseRowObject: false).ToList();
        // Not disposed: disposing a prediction engine disposes the transformer it was made from (ML.NET's rule).
        float[] Engine() { var e = ml.Model.CreatePredictionEngine<Row, Scored>(model); return rows.Select(r => e.Predict(r).LogLikelihood).ToArray(); }
        var batched = model.Transform(view).GetColumn<float>("LogLikelihood").ToArray();
        var engine = Engine();
        var generated = model.Generator.Generate(16, new GenerationOptions { Seed = 2, Steps = 10 });
        int agree = 0, total = 0;
        var watch = Stopwatch.StartNew();
        Parallel.For(0, threads * rounds, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            bool same = model.Transform(view).GetColumn<float>("LogLikelihood").SequenceEqual(batched) && Engine().SequenceEqual(engine)
                && model.Generator.Generate(16, new GenerationOptions { Seed = 2, Steps = 10 }).Zip(generated).All(p => p.First.SequenceEqual(p.Second));
            Interlocked.Increment(ref total);
            if (same) Interlocked.Increment(ref agree);
        });
        Console.WriteLine($"threads: {threads} threads x {rounds} rounds (Transform of 64 rows, a prediction engine each, 16 generated rows): {agree} of {total} equal to the sequential values bit for bit ({watch.Elapsed.TotalSeconds:F1} s)");
    }

    /// <summary>Generation split into four shards on batch boundaries and at arbitrary rows: equal to the unsplit run?</summary>
    public static void Shards(int rows)
    {
        var ml = new MLContext(seed: 1);
        using var model = TinyModel(ml, out _);
        const int batch = 256;
        GenerationOptions Options(long first) => new() { Seed = 3, Steps = 20, BatchSize = batch, FirstRow = first };
        var whole = model.Generator.Generate(rows, Options(0));
        foreach (var (name, cuts) in new[] { ("on batch boundaries", new long[] { 0, rows / 4 / batch * batch, rows / 2 / batch * batch, 3L * rows / 4 / batch * batch, rows }), ("at arbitrary rows", [0, 777, 1500, 1501, rows]) })
        {
            var shards = cuts.Zip(cuts.Skip(1)).SelectMany(c => model.Generator.Generate((int)(c.Second - c.First), Options(c.First))).ToArray();
            int same = whole.Zip(shards).Count(p => p.First.SequenceEqual(p.Second));
            double worst = whole.Zip(shards).Max(p => p.First.Zip(p.Second).Max(v => System.Math.Abs(v.First - v.Second)));
            Console.WriteLine($"shards {name} ({string.Join(", ", cuts)}): {same} of {rows} rows bit-identical to the unsplit run; largest difference {worst:G3}");
        }
    }

    /// <summary>
    /// Training on <paramref name="rows"/> rows of 16 features generated as a streamed data view (computed from the row
    /// index, never held): peak resident memory, the scan's rate and the training rate. Run each size in its own process
    /// (the peak is the process's).
    /// </summary>
    public static void TrainStream(long rows, int maxRowsInMemory, int steps)
    {
        var ml = new MLContext(seed: 1);
        var watch = Stopwatch.StartNew();
        double scanned = 0;
        ml.Log += (_, e) =>
        {
            if (e.Source != "ReflectedDiffusion") return;
            if (e.Message.Contains("Training on", StringComparison.Ordinal)) scanned = watch.Elapsed.TotalSeconds;
            if (e.Message.Contains("Training on", StringComparison.Ordinal) || e.Message.Contains("Trained in", StringComparison.Ordinal) || e.Message.Contains("Anomaly threshold", StringComparison.Ordinal))
                Console.WriteLine($"  {watch.Elapsed.TotalSeconds,6:F1} s: {e.Message} [{Memory()}]");
        };
        var data = ml.Data.LoadFromEnumerable(RidgeRows(rows)); // an iterator: re-enumerated for every cursor
        var options = new ReflectedDiffusionOptions
        {
            Bounds = BoundsSource.Unit, SigmaMin = 0.05, NumberOfSteps = steps, BatchSize = 256, HiddenWidth = 64, Blocks = 2, LikelihoodSteps = 4,
            Seed = 1, MaxRowsInMemory = maxRowsInMemory, Context = ml,
        };
        Console.WriteLine($"train-stream: {rows} rows of 16 features (a streamed data view), MaxRowsInMemory {maxRowsInMemory}, {steps} steps of 256; before: {Memory()}");
        using var model = ml.Transforms.ReflectedDiffusion(options).Fit(data);
        double total = watch.Elapsed.TotalSeconds;
        GC.Collect();
        Console.WriteLine($"  done in {total:F1} s: the scan read {rows / scanned:F0} rows/s (incl. start-up); training {steps * 256 / (total - scanned):F0} samples/s after it (incl. the threshold); final {Memory()}; managed heap {GC.GetTotalMemory(true) / 1e6:F0} MB; the rows as floats would take {rows * 16 * 4 / 1e6:F0} MB");
    }

    /// <summary>
    /// 'rdiff train' on a CSV file of <paramref name="rows"/> ridge rows (written first, then deleted), in this process:
    /// the tool streams the file above the row limit, so the peak stays near the 10^5-row one whatever the file's length.
    /// </summary>
    public static void TrainCsv(long rows, int maxRowsInMemory, int steps)
    {
        var folder = Directory.CreateTempSubdirectory("rdiff-train-csv-").FullName;
        try
        {
            var csv = Path.Combine(folder, "ridge.csv");
            var watch = Stopwatch.StartNew();
            using (var writer = new StreamWriter(csv))
            {
                writer.WriteLine(string.Join(',', Enumerable.Range(0, 16).Select(j => $"f{j}")));
                foreach (var row in RidgeRows(rows)) writer.WriteLine(string.Join(',', row.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            }
            Console.WriteLine($"train-csv: {rows} rows of 16 features, {new FileInfo(csv).Length / 1e6:F0} MB written in {watch.Elapsed.TotalSeconds:F0} s; " +
                $"rdiff train --max-rows-in-memory {maxRowsInMemory}, {steps} steps of 256; before: {Memory()}");
            watch.Restart();
            int code = ReflectedDiffusion.Cli.Cli.Run(["train", "--data", csv, "--out", Path.Combine(folder, "model.zip"), "--bounds", "unit", "--sigma-min", "0.05",
                "--steps", $"{steps}", "--batch-size", "256", "--hidden-width", "64", "--blocks", "2", "--likelihood-steps", "4", "--seed", "1",
                "--max-rows-in-memory", $"{maxRowsInMemory}"], Console.Out, Console.Error);
            Console.WriteLine($"  exit code {code} after {watch.Elapsed.TotalSeconds:F1} s ({rows / watch.Elapsed.TotalSeconds:F0} rows/s over the whole run); {Memory()}; " +
                $"the rows as floats would take {rows * 16 * 4 / 1e6:F0} MB");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Rows of 16 features on a curved ridge, each a function of its index.
    private static IEnumerable<Row> RidgeRows(long rows)
    {
        for (long i = 0; i < rows; i++)
        {
            double u = (i * 0.6180339887498949) % 1.0, v = (i * 0.7548776662466927) % 1.0;
            var f = new float[16];
            for (int j = 0; j < 16; j++) f[j] = (float)(0.1 + 0.8 * (j % 2 == 0 ? u : (0.5 * u * u + 0.5 * v) * (1 - 0.03 * j)));
            yield return new Row { Features = f };
        }
    }

    /// <summary>Many single-row scoring calls through one prediction engine: resident and managed memory along the way.</summary>
    public static void ScoreCalls(int calls)
    {
        var ml = new MLContext(seed: 1);
        using var model = TinyModel(ml, out var data);
        var rows = ml.Data.CreateEnumerable<Row>(data, reuseRowObject: false).Take(100).ToList();
        // Not disposed: disposing a prediction engine disposes the transformer it was made from (ML.NET's rule).
        var engine = ml.Model.CreatePredictionEngine<Row, Scored>(model);
        var view = ml.Data.LoadFromEnumerable(rows.Take(8).ToList());
        double sum = 0;
        var watch = Stopwatch.StartNew();
        Console.WriteLine($"score-calls: {calls} single-row Predict calls plus one 8-row Transform every 10 calls; before: {Memory()}");
        for (int i = 1; i <= calls; i++)
        {
            sum += engine.Predict(rows[i % rows.Count]).LogLikelihood;
            if (i % 10 == 0) sum += model.Transform(view).GetColumn<float>("LogLikelihood").Sum();
            if (i == 100 || i == 1000 || i == calls || i % 2_500 == 0)
            {
                GC.Collect();
                string before = Memory();
                TorchRuntime.ReleaseFreedMemory(); // what is left after glibc returns freed memory is live (or fragmented) memory
                Console.WriteLine($"  {i,7} calls, {watch.Elapsed.TotalSeconds,6:F1} s: {before}; after malloc_trim {Memory()}; managed heap {GC.GetTotalMemory(true) / 1e6:F1} MB");
            }
        }
        Console.WriteLine($"  checksum {sum:G6}");
    }
}
