using System.Text.Json;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion;

/// <summary>
/// A trained reflected diffusion model: the score network (EMA weights), its SDE and the box bounds of the data.
/// Saved as one binary file (a JSON description and the weights), written atomically.
/// </summary>
public sealed class ScoreModel : IDisposable
{
    private const string Magic = "RDMODEL1";
    private const int FormatVersion = 1;

    /// <summary>Wraps a network with its SDE and bounds (unit box when null).</summary>
    public ScoreModel(ScoreNetwork network, ReflectedVeSde sde, BoxBounds? bounds = null)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        Sde = sde ?? throw new ArgumentNullException(nameof(sde));
        Bounds = bounds ?? BoxBounds.Unit(network.Config.Dimension);
        if (Bounds.Dimension != network.Config.Dimension)
            throw new ArgumentException($"Bounds have {Bounds.Dimension} features; the network has {network.Config.Dimension}.", nameof(bounds));
    }

    /// <summary>The score network, in evaluation mode.</summary>
    public ScoreNetwork Network { get; }
    /// <summary>The reflected SDE the network was trained for.</summary>
    public ReflectedVeSde Sde { get; }
    /// <summary>Bounds of the data in the user's units.</summary>
    public BoxBounds Bounds { get; }

    /// <summary>Writes the model to a file atomically (temporary file, then rename).</summary>
    public void Save(string path) => IO.AtomicFile.Write(path, Save);

    /// <summary>Writes the model to a stream.</summary>
    public void Save(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        TensorIO.WriteHeader(w, Magic, FormatVersion);
        var header = new ModelHeader(Network.Config, Sde.SigmaMin, Sde.SigmaMax, Bounds.Lower, Bounds.Upper);
        w.Write(JsonSerializer.Serialize(header));
        TensorIO.Write(w, Network.state_dict());
    }

    /// <summary>Reads a model written by <see cref="Save(string)"/>.</summary>
    public static ScoreModel Load(string path)
    {
        using var fs = File.OpenRead(path);
        return Load(fs);
    }

    /// <summary>
    /// Reads a model written by <see cref="Save(Stream)"/>. A damaged stream (bad header, network settings out of
    /// range, weights that do not fit the network, a truncation) is an <see cref="InvalidDataException"/>. The stream
    /// is trusted not to be crafted: settings within <see cref="ScoreNetworkConfig.Validate"/>'s ranges build the
    /// network they describe, however large (a model file's manifest, <see cref="IO.ModelManifest"/>, catches damage first).
    /// </summary>
    public static ScoreModel Load(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        ModelHeader header;
        try
        {
            int version = TensorIO.ReadHeader(r, Magic, "reflected diffusion model");
            if (version != FormatVersion) throw new InvalidDataException($"Model format version {version} is not supported (expected {FormatVersion}).");
            header = JsonSerializer.Deserialize<ModelHeader>(r.ReadString()) ?? throw new InvalidDataException("The model header is empty.");
            if (header.Network is null || header.Lower is null || header.Upper is null) throw new InvalidDataException("The model header lacks the network or the bounds.");
            header.Network.Validate();
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or ArgumentException or NotSupportedException)
        {
            throw new InvalidDataException($"The model header is damaged ({e.Message}).", e);
        }
        var weights = TensorIO.Read(r);
        ScoreNetwork? network = null;
        try
        {
            network = ScoreNetwork.Create(header.Network);
            network.load_state_dict(weights);
            network.eval();
            return new ScoreModel(network, new ReflectedVeSde(header.SigmaMin, header.SigmaMax), new BoxBounds(header.Lower, header.Upper));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            network?.Dispose();
            throw new InvalidDataException($"The model's weights do not fit its network or its settings are out of range ({e.Message}).", e);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Network.Dispose();

    private sealed record ModelHeader(ScoreNetworkConfig Network, double SigmaMin, double SigmaMax, double[] Lower, double[] Upper);
}
