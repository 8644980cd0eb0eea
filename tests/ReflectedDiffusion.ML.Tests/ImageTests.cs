using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ReflectedDiffusion.Networks;
using Xunit;

namespace ReflectedDiffusion.ML.Tests;

[Collection(TorchCollection.Name)]
public sealed class ImageTests
{
    private const int Side = 6;

    public sealed class ImageRow
    {
        [ImageType(Side, Side)] public MLImage Image = null!;
    }

    public sealed class PlanesRow
    {
        [VectorType(4 * Side * Side)] public float[] Planes = [];
    }

    [Theory]
    [InlineData(NetworkKind.Mlp)]
    [InlineData(NetworkKind.UNet)]
    public void ExtractPixelsInConvertToImageOut(NetworkKind network)
    {
        // Grey 6x6 images whose left half is bright: ExtractPixels (one plane, scaled to [0, 1]) feeds the estimator;
        // generated vectors go back through ConvertToImage to MLImage (planes A, R, G, B: without an alpha plane ConvertToImage leaves alpha 0 here, whatever defaultAlpha says).
        var ml = new MLContext(seed: 1);
        var rng = new Random(2);
        var images = Enumerable.Range(0, 200).Select(_ =>
        {
            var bgra = new byte[Side * Side * 4];
            for (int p = 0; p < Side * Side; p++)
            {
                byte v = (byte)(p % Side < Side / 2 ? 200 + rng.Next(40) : rng.Next(40));
                bgra[4 * p] = bgra[4 * p + 1] = bgra[4 * p + 2] = v;
                bgra[4 * p + 3] = 255;
            }
            return new ImageRow { Image = MLImage.CreateFromPixels(Side, Side, MLPixelFormat.Bgra32, bgra) };
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(images);
        var model = ml.Transforms.ExtractPixels("Pixels", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255)
            .Append(ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions
            {
                FeatureColumnName = "Pixels", Bounds = BoundsSource.Unit, NumberOfSteps = 500, BatchSize = 100, HiddenWidth = 64, Blocks = 2, LikelihoodSteps = 10, SigmaMin = 0.01, Seed = 4,
                Network = network, ImageHeight = Side, ImageWidth = Side, BaseChannels = 8,
            }))
            .Fit(data);
        using var diffusion = model.LastTransformer;
        Assert.Equal(Side * Side, diffusion.Model.Network.Config.Dimension);
        Assert.Equal(network, diffusion.Model.Network.Config.Kind);
        var generated = diffusion.Generator.Generate(20, new GenerationOptions { Seed = 1, Steps = 40 });
        // The likelihood graph runs for either network (the exact trace: 36 pixels).
        var pixels = VectorDataView.Create(ml, generated, Side * Side, "Pixels");
        Assert.All(diffusion.Transform(pixels).GetColumn<float>("BitsPerDimension"), v => Assert.True(float.IsFinite(v)));
        var planes = ml.Data.LoadFromEnumerable(generated.Select(g => new PlanesRow { Planes = [.. Enumerable.Repeat(1f, Side * Side), .. g, .. g, .. g] }));
        var converted = ml.Transforms.ConvertToImage(Side, Side, "Out", "Planes", ImagePixelExtractingEstimator.ColorBits.All, scaleImage: 255)
            .Fit(planes).Transform(planes);
        // Read each image while its row is current: ML.NET disposes an image when the cursor moves on.
        int count = 0;
        double left = 0, right = 0;
        using (var cursor = converted.GetRowCursor([converted.Schema["Out"]]))
        {
            var get = cursor.GetGetter<MLImage>(converted.Schema["Out"]);
            MLImage image = null!;
            while (cursor.MoveNext())
            {
                get(ref image);
                Assert.Equal((Side, Side, MLPixelFormat.Bgra32), (image.Width, image.Height, image.PixelFormat));
                var bgra = image.Pixels.ToArray();
                for (int p = 0; p < Side * Side; p++)
                {
                    Assert.Equal(255, bgra[4 * p + 3]); // opaque
                    if (p % Side < Side / 2) left += bgra[4 * p + 2]; else right += bgra[4 * p + 2];
                }
                count++;
            }
        }
        Assert.Equal(20, count);
        int perHalf = 20 * Side * Side / 2;
        // The structure of the training images survives the round trip: bright left halves, dark right halves.
        Assert.True(left / perHalf > 150 && right / perHalf < 60, $"mean left {left / perHalf}, right {right / perHalf}");
    }
}
