using ReflectedDiffusion.Networks;
using TorchSharp.Modules;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// The U-Net body, layer by layer as <see cref="UNet"/> computes it. Activations are images [N, C, H, W]; their
/// tangents are [K, N, C, H, W] (K directions), folded to [K * N, C, H, W] for the linear image operators.
/// </summary>
internal sealed partial class NetworkGraph
{
    // An activation, its tangent (null when none is carried) and its static shape.
    private readonly record struct Feature(string Value, string? Tangent, int Channels, int Height, int Width);

    private (string Raw, string? Tangent) UNetBody(GraphBuilder g, UNet unet, string centred, string? tangent, string emb, int k)
    {
        var cfg = _config;
        var x = g.OpWith("Reshape", [centred, Ints(-1, cfg.Channels, cfg.Height, cfg.Width)], []);
        string? tx = null;
        if (tangent is not null)
        {
            // Directions may come as [K, 1, d]; give them every row, then the image shape.
            var rows = g.OpWith("Expand", [tangent, g.OpWith("Concat", [Ints(k), g.Op("Shape", centred)], [GraphBuilder.Int("axis", 0)])], []);
            tx = g.OpWith("Reshape", [rows, Ints(k, -1, cfg.Channels, cfg.Height, cfg.Width)], []);
        }
        var e = g.Silu(emb);
        var h = Conv(g, unet.Stem, new Feature(x, tx, cfg.Channels, cfg.Height, cfg.Width), k);
        var skips = new Stack<Feature>();
        skips.Push(h);
        for (int i = 0; i < unet.Down.Count; i++)
        {
            if (i > 0 && i % cfg.ResBlocksPerLevel == 0) h = Pool(g, h, k);
            h = Block(g, unet.Down[i], h, e, k);
            skips.Push(h);
        }
        foreach (var block in unet.Middle) h = Block(g, block, h, e, k);
        foreach (var block in unet.Up)
        {
            var skip = skips.Pop();
            if (skip.Height != h.Height) h = Upsample(g, h, k);
            var joined = new Feature(
                g.OpWith("Concat", [h.Value, skip.Value], [GraphBuilder.Int("axis", 1)]),
                h.Tangent is null ? null : g.OpWith("Concat", [h.Tangent, skip.Tangent!], [GraphBuilder.Int("axis", 2)]),
                h.Channels + skip.Channels, h.Height, h.Width);
            h = Block(g, block, joined, e, k);
        }
        var o = Conv(g, unet.Head, Silu(g, Norm(g, unet.HeadNorm, h, k)), k);
        return (g.OpWith("Reshape", [o.Value, Ints(-1, cfg.Dimension)], []),
                o.Tangent is null ? null : g.OpWith("Reshape", [o.Tangent, Ints(k, -1, cfg.Dimension)], []));
    }

    // GroupNorm, SiLU, conv, plus the projected embedding, GroupNorm, SiLU, conv; a 1x1 conv on the skip path when
    // the channel count changes.
    private Feature Block(GraphBuilder g, ResBlock block, Feature x, string siluEmbedding, int k)
    {
        var h = Conv(g, block.FirstConv, Silu(g, Norm(g, block.FirstNorm, x, k)), k);
        var shift = g.OpWith("Unsqueeze", [Linear(g, block.EmbeddingProjection, siluEmbedding), Ints(2, 3)], []);
        h = h with { Value = g.Add(h.Value, shift) }; // the embedding does not depend on x: no tangent
        h = Conv(g, block.SecondConv, Silu(g, Norm(g, block.SecondNorm, h, k)), k);
        var skip = block.SkipConv is { } skipConv ? Conv(g, skipConv, x, k) : x;
        return h with { Value = g.Add(h.Value, skip.Value), Tangent = h.Tangent is null ? null : g.Add(h.Tangent, skip.Tangent!) };
    }

    private Feature Silu(GraphBuilder g, Feature a)
        => a with { Value = g.Silu(a.Value), Tangent = a.Tangent is null ? null : SiluTangent(g, a.Value, a.Tangent) };

    // Same-padding convolution with SameConv2d's weights [out, in * k * k] (the layout of Conv's [out, in, k, k]).
    private Feature Conv(GraphBuilder g, SameConv2d conv, Feature x, int k)
    {
        int outChannels = (int)conv.Weight.shape[0], kernel = conv.Kernel;
        var w = Weight(conv.Weight, transpose: false, [outChannels, x.Channels, kernel, kernel]);
        var b = Weight(conv.Bias, transpose: false, [outChannels]);
        var attributes = new[] { GraphBuilder.Ints("kernel_shape", kernel, kernel), GraphBuilder.Ints("pads", kernel / 2, kernel / 2, kernel / 2, kernel / 2) };
        // The tangent takes the linear part only: no bias.
        return MapImages(g, x, outChannels, x.Height, x.Width, k,
            images => g.OpWith("Conv", [images, w, b], attributes), images => g.OpWith("Conv", [images, w], attributes));
    }

    private Feature Pool(GraphBuilder g, Feature x, int k)
    {
        global::Onnx.AttributeProto[] attributes = [GraphBuilder.Ints("kernel_shape", 2, 2), GraphBuilder.Ints("strides", 2, 2)];
        string Apply(string images) => g.OpWith("AveragePool", [images], attributes);
        return MapImages(g, x, x.Channels, x.Height / 2, x.Width / 2, k, Apply, Apply);
    }

    // Nearest-neighbour doubling: output pixel (i, j) reads input (floor(i / 2), floor(j / 2)), as torch's interpolate.
    private Feature Upsample(GraphBuilder g, Feature x, int k)
    {
        var scales = Const("upsample_scales", 1f, 1f, 2f, 2f);
        global::Onnx.AttributeProto[] attributes =
        [
            GraphBuilder.Str("mode", "nearest"), GraphBuilder.Str("coordinate_transformation_mode", "asymmetric"),
            GraphBuilder.Str("nearest_mode", "floor"),
        ];
        string Apply(string images) => g.OpWith("Resize", [images, "", scales], attributes);
        return MapImages(g, x, x.Channels, x.Height * 2, x.Width * 2, k, Apply, Apply);
    }

    // An image operator [B, C, H, W] -> [B, C', H', W'] on the activation, and its linear part on the tangents
    // [K, N, C, H, W], with K folded into the batch.
    private Feature MapImages(GraphBuilder g, Feature x, int outC, int outH, int outW, int k, Func<string, string> value, Func<string, string> linear)
    {
        string? tangent = null;
        if (x.Tangent is not null)
        {
            var images = g.OpWith("Reshape", [x.Tangent, Ints(-1, x.Channels, x.Height, x.Width)], []);
            tangent = g.OpWith("Reshape", [linear(images), Ints(k, -1, outC, outH, outW)], []);
        }
        return new Feature(value(x.Value), tangent, outC, outH, outW);
    }

    // GroupNorm: per row and group, xhat = (x - mean) / sqrt(var + eps); y = gamma xhat + beta per channel.
    private Feature Norm(GraphBuilder g, GroupNorm norm, Feature x, int k)
    {
        int groups = Networks.ResBlock.Groups(x.Channels);
        long perGroup = (long)x.Channels / groups * x.Height * x.Width;
        var grouped = g.OpWith("Reshape", [x.Value, Ints(-1, groups, perGroup)], []);
        var centred = g.Sub(grouped, Mean(g, grouped, 2));
        var inverseStd = g.Op("Reciprocal", g.Op("Sqrt", g.Add(Mean(g, g.Mul(centred, centred), 2), Const("norm_eps", (float)Networks.ResBlock.NormEpsilon))));
        var xhat = g.Mul(centred, inverseStd);
        var gamma = Weight(norm.weight!, transpose: false, [x.Channels, 1, 1]);
        var beta = Weight(norm.bias!, transpose: false, [x.Channels, 1, 1]);
        var y = g.Add(g.Mul(g.OpWith("Reshape", [xhat, Ints(-1, x.Channels, x.Height, x.Width)], []), gamma), beta);
        string? ty = null;
        if (x.Tangent is not null)
        {
            // d xhat = (dx - mean(dx) - xhat mean(xhat dx)) / std, over each row's group.
            var t = g.OpWith("Reshape", [x.Tangent, Ints(k, -1, groups, perGroup)], []);
            var dxhat = g.Mul(g.Sub(g.Sub(t, Mean(g, t, 3)), g.Mul(xhat, Mean(g, g.Mul(xhat, t), 3))), inverseStd);
            ty = g.Mul(g.OpWith("Reshape", [dxhat, Ints(k, -1, x.Channels, x.Height, x.Width)], []), gamma);
        }
        return x with { Value = y, Tangent = ty };
    }

    private string Mean(GraphBuilder g, string x, long axis) => g.OpWith("ReduceMean", [x, Ints(axis)], [GraphBuilder.Int("keepdims", 1)]);
}
