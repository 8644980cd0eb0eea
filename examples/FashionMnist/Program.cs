// FashionMnist: an image pipeline with Microsoft.ML.ImageAnalytics. Images go in as MLImage, ExtractPixels turns
// them into pixel vectors in [0, 1], a class-conditional reflected diffusion model learns them, and generated vectors
// come back as MLImage through ConvertToImage (saved as PNG files).
// Data: Debian's Fashion-MNIST (Zalando Research, MIT): sudo apt-get install -y dataset-fashion-mnist
// Run: dotnet run -c Release --project examples/FashionMnist [-- TRAIN_STEPS]
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ReflectedDiffusion.ML;

const int Side = 28, TrainImages = 10_000;
string[] names = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"];
string folder = Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") ?? "/usr/share/datasets/fashion-mnist";
string images = Path.Combine(folder, "train-images-idx3-ubyte.gz"), labels = Path.Combine(folder, "train-labels-idx1-ubyte.gz");
if (!File.Exists(images) || !File.Exists(labels))
{
    Console.Error.WriteLine($"Fashion-MNIST not found in {folder}.");
    Console.Error.WriteLine("Install it with: sudo apt-get install -y dataset-fashion-mnist");
    Console.Error.WriteLine("(or point FASHION_MNIST_DIR at a folder holding train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz).");
    return 2;
}
int steps = args.Length > 0 ? int.Parse(args[0]) : 3000;

var ml = new MLContext(seed: 1);
var pixels = Gunzip(images);
var classes = Gunzip(labels);
var rows = Enumerable.Range(0, TrainImages).Select(i => new Garment { Image = ToImage(pixels.AsSpan(16 + i * Side * Side, Side * Side)), Label = classes[8 + i] }).ToList();
var data = ml.Data.LoadFromEnumerable(rows);

// ExtractPixels: one grey plane, scaled to [0, 1], the unit box the model works in.
var pipeline = ml.Transforms.ExtractPixels("Pixels", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255)
    .Append(ml.Transforms.Conversion.MapValueToKey("Class", "Label", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue))
    .Append(ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions
    {
        FeatureColumnName = "Pixels", LabelColumnName = "Class", NumberOfSteps = steps, BatchSize = 128, HiddenWidth = 512, Blocks = 3,
        SigmaMin = 0.01, Weighting = ReflectedDiffusion.Training.LossWeighting.Sigma2, LikelihoodSteps = 20, Seed = 1,
        Progress = p => { if (p.Step % 500 == 0) Console.WriteLine($"step {p.Step}/{p.TotalSteps}: loss {p.Loss:F2}, {p.SamplesPerSecond:F0} samples/s"); },
    }));
Console.WriteLine($"Training on {TrainImages} images, {steps} steps (a small MLP: expect rough shapes, not photographs).");
var model = pipeline.Fit(data);
var diffusion = model.LastTransformer;

// Eight samples per class at guidance 3. ConvertToImage takes planes A, R, G, B: an opaque alpha plane (without
// it, alpha stays 0 whatever defaultAlpha says) and the grey plane three times.
var wanted = Enumerable.Range(0, 80).Select(i => (long)(i / 8)).ToArray();
var generated = diffusion.Generator.Generate(wanted.Length, new GenerationOptions { Seed = 5, Steps = 100, Guidance = 3 }, wanted);
var asImages = ml.Data.LoadFromEnumerable(generated.Select(g => new PixelRow { Pixels = [.. Enumerable.Repeat(1f, g.Length), .. g, .. g, .. g] }));
var converted = ml.Transforms.ConvertToImage(Side, Side, "Image", "Pixels", ImagePixelExtractingEstimator.ColorBits.All, scaleImage: 255)
    .Fit(asImages).Transform(asImages);
Directory.CreateDirectory("fashion-samples");
int n = 0;
foreach (var image in converted.GetColumn<MLImage>("Image"))
{
    image.Save(Path.Combine("fashion-samples", $"{names[wanted[n]]}-{n % 8}.png"));
    n++;
}
Console.WriteLine($"Wrote {n} generated images to fashion-samples/.");

// Likelihood of 100 training images: above 64 features the graph estimates the divergence with 16 Hutchinson
// probes (LikelihoodProbes) instead of 784 tangents.
var bpd = model.Transform(ml.Data.LoadFromEnumerable(rows.Take(100))).GetColumn<float>("BitsPerDimension").ToArray();
Console.WriteLine($"100 training images: mean {bpd.Average():F3} bits/dim in [0, 1] pixel units (negative: denser than uniform)");
return 0;

static byte[] Gunzip(string path)
{
    using var output = new MemoryStream();
    new GZipStream(File.OpenRead(path), CompressionMode.Decompress).CopyTo(output);
    var bytes = output.ToArray();
    int magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
    if (magic is not (2051 or 2049)) throw new InvalidDataException($"{path}: not an IDX file (magic {magic}).");
    return bytes;
}

static MLImage ToImage(ReadOnlySpan<byte> grey)
{
    var bgra = new byte[grey.Length * 4];
    for (int i = 0; i < grey.Length; i++) { bgra[4 * i] = bgra[4 * i + 1] = bgra[4 * i + 2] = grey[i]; bgra[4 * i + 3] = 255; }
    return MLImage.CreateFromPixels(Side, Side, MLPixelFormat.Bgra32, bgra);
}

sealed class Garment
{
    [ImageType(28, 28)] public MLImage Image = null!;
    public uint Label;
}

sealed class PixelRow
{
    [VectorType(4 * 28 * 28)] public float[] Pixels = [];
}
