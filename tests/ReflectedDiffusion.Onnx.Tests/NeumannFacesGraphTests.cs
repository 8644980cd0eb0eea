using ReflectedDiffusion.Networks;

namespace ReflectedDiffusion.Onnx.Tests;

/// <summary>The face mask (ScoreNetworkConfig.NeumannFaces) in the compiled graph: score and tangents as TorchSharp computes them, on and off the faces.</summary>
[Collection(TorchCollection.Name)]
public sealed class NeumannFacesGraphTests(ITestOutputHelper output)
{
    public static TheoryData<string, ScoreNetworkConfig> Networks => new()
    {
        { "MLP", new ScoreNetworkConfig { Dimension = 4, HiddenWidth = 32, Blocks = 2, EmbeddingDim = 16, NeumannFaces = true } },
        { "conditional MLP", new ScoreNetworkConfig { Dimension = 4, HiddenWidth = 32, Blocks = 1, EmbeddingDim = 16, NumClasses = 2, NeumannFaces = true } },
        { "U-Net", new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 4, Width = 4, Dimension = 16, BaseChannels = 8, ChannelMultipliers = [1, 2], EmbeddingDim = 16, NeumannFaces = true } },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void MaskedScoreAndTangentsMatchTorchSharp(string kind, ScoreNetworkConfig config)
    {
        torch.random.manual_seed(41);
        using var network = ScoreNetwork.Create(config);
        network.eval();
        int d = config.Dimension;
        const int n = 5, k = 3;
        var rng = new Random(4);
        // Inside, on both faces and just outside (a flow's stage before the fold), at small and large sigma.
        float[] special = [0f, 1f, -0.01f, 1.02f, 0.003f];
        var rows = Enumerable.Range(0, n * d).Select(i => i % 3 == 0 ? special[i % special.Length] : (float)rng.NextDouble()).ToArray();
        float[] sigmas = [0.01f, 0.05f, 0.3f, 1f, 5f];
        var directions = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        long[]? labels = config.IsConditional ? [0, 1, 2, 0, 1] : null;

        var onnxScore = NetworkComparison.AssertGraphMatchesTorchSharp(network, rows, n, sigmas, labels, directions, k, output, kind);
        for (int i = 0; i < n * d; i++)
            if (rows[i] is 0f or 1f) Assert.Equal(0f, onnxScore[i]);
    }
}
