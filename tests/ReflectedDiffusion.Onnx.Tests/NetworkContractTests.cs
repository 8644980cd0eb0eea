using ReflectedDiffusion.Networks;

namespace ReflectedDiffusion.Onnx.Tests;

/// <summary>
/// The ONNX compiler reads every layer of every network kind: a parameter added to a network but not to the
/// compiler fails here (and at export) instead of being dropped from the graph.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NetworkContractTests
{
    public static TheoryData<string, ScoreNetworkConfig> Networks => new()
    {
        { "MLP", new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 2, EmbeddingDim = 16 } },
        { "conditional MLP", new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 2, EmbeddingDim = 16, NumClasses = 2 } },
        // One level: only the up blocks (which eat concatenated skips) change channels and carry a skip convolution.
        { "one-level U-Net", UNetConfig(channels: 1, multipliers: [1], classes: 0) },
        // Two levels: a down block changes channels too.
        { "two-level U-Net", UNetConfig(channels: 1, multipliers: [1, 2], classes: 0) },
        { "conditional U-Net", UNetConfig(channels: 3, multipliers: [1, 2, 2], classes: 2) },
    };

    private static ScoreNetworkConfig UNetConfig(int channels, int[] multipliers, int classes) => new()
    {
        Kind = NetworkKind.UNet, Channels = channels, Height = 8, Width = 8, Dimension = channels * 64, BaseChannels = 8,
        ChannelMultipliers = multipliers, ResBlocksPerLevel = 1, EmbeddingDim = 16, NumClasses = classes,
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void TheCompilerConsumesExactlyTheNetworkParameters(string kind, ScoreNetworkConfig config)
    {
        using var network = ScoreNetwork.Create(config);
        var consumed = Compile(network).ConsumedParameters.Select(t => (object)t).ToHashSet(ReferenceEqualityComparer.Instance);
        var parameters = network.named_parameters().ToList();

        var missing = parameters.Where(p => !consumed.Contains(p.parameter)).Select(p => p.name).ToList();
        Assert.True(missing.Count == 0, $"{kind}: the compiler skips {string.Join(", ", missing)}");
        var known = parameters.Select(p => (object)p.parameter).ToHashSet(ReferenceEqualityComparer.Instance);
        Assert.True(consumed.All(known.Contains), $"{kind}: the compiler reads a tensor that is not a parameter of the network");
        Assert.Equal(parameters.Count, consumed.Count);
    }

    [Fact]
    public void ExportRejectsAParameterTheCompilerDoesNotKnow()
    {
        using var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 8, Blocks = 1, EmbeddingDim = 8 });
        network.register_parameter("unknown_scale", new TorchSharp.Modules.Parameter(torch.ones(3)));

        var error = Assert.Throws<InvalidOperationException>(() => Compile(network));
        Assert.Contains("unknown_scale", error.Message);
    }

    private static NetworkGraph Compile(ScoreNetwork network)
    {
        var g = new GraphBuilder("contract");
        var graph = new NetworkGraph(network, g);
        graph.ScoreWithTangent(g, "X", "Sigma", network.Config.IsConditional ? "Labels" : null, "Directions", directions: 2);
        return graph;
    }
}
