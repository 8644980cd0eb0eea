using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>
/// A small self-describing binary format for named tensors (float32, float64, int64). Files holding it are
/// written with <see cref="IO.AtomicFile"/>.
/// </summary>
public static class TensorIO
{
    /// <summary>Writes named tensors.</summary>
    public static void Write(BinaryWriter w, IReadOnlyCollection<KeyValuePair<string, Tensor>> tensors)
    {
        w.Write(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            using var t = tensor.detach().cpu().contiguous();
            w.Write(name);
            w.Write((int)t.dtype);
            w.Write(t.dim());
            foreach (var d in t.shape) w.Write(d);
            switch (t.dtype)
            {
                case ScalarType.Float32: foreach (var v in t.data<float>()) w.Write(v); break;
                case ScalarType.Float64: foreach (var v in t.data<double>()) w.Write(v); break;
                case ScalarType.Int64: foreach (var v in t.data<long>()) w.Write(v); break;
                default: throw new NotSupportedException($"Tensor '{name}' has dtype {t.dtype}; only float32, float64 and int64 are stored.");
            }
        }
    }

    /// <summary>The most tensors, and the highest rank, a stream may declare.</summary>
    public const int MaxTensors = 100_000, MaxRank = 8;

    /// <summary>
    /// Reads named tensors written by <see cref="Write"/>, on the CPU. Damaged input (a count, rank or shape that is
    /// negative, absurd or larger than what the stream still holds, an unknown dtype, a truncation) is an
    /// <see cref="InvalidDataException"/> naming the tensor; nothing is allocated for sizes the stream cannot hold.
    /// </summary>
    public static Dictionary<string, Tensor> Read(BinaryReader r)
    {
        var result = new Dictionary<string, Tensor>();
        try
        {
            int count = r.ReadInt32();
            if (count < 0 || count > MaxTensors) throw new InvalidDataException($"The weights declare {count} tensors; expected 0 to {MaxTensors}.");
            for (int i = 0; i < count; i++)
            {
                string name = r.ReadString();
                var dtype = (ScalarType)r.ReadInt32();
                int size = dtype switch
                {
                    ScalarType.Float32 => 4,
                    ScalarType.Float64 or ScalarType.Int64 => 8,
                    _ => throw new InvalidDataException($"Tensor '{name}' has unsupported dtype code {(int)dtype}."),
                };
                long rank = r.ReadInt64();
                if (rank < 0 || rank > MaxRank) throw new InvalidDataException($"Tensor '{name}' declares rank {rank}; expected 0 to {MaxRank}.");
                long[] shape = new long[rank];
                long n = 1;
                for (int k = 0; k < shape.Length; k++)
                {
                    shape[k] = r.ReadInt64();
                    // Each dimension, and the running product, must fit in what the stream can still hold.
                    if (shape[k] < 0 || (shape[k] > 0 && n > Remaining(r) / size / shape[k]))
                        throw new InvalidDataException($"Tensor '{name}' declares shape [{string.Join(", ", shape.Take(k + 1))}], more values than the stream holds.");
                    n *= shape[k];
                }
                if (result.ContainsKey(name)) throw new InvalidDataException($"Tensor '{name}' appears twice.");
                result[name] = dtype switch
                {
                    ScalarType.Float32 => torch.tensor(ReadMany(n, r.ReadSingle), shape),
                    ScalarType.Float64 => torch.tensor(ReadMany(n, r.ReadDouble), shape),
                    _ => torch.tensor(ReadMany(n, r.ReadInt64), shape),
                };
            }
            return result;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or OverflowException)
        {
            foreach (var t in result.Values) t.Dispose();
            if (e is InvalidDataException) throw;
            throw new InvalidDataException($"The weights are truncated or damaged after {result.Count} tensors ({e.Message}).", e);
        }
    }

    // Bytes a tensor may still take: what a seekable stream has left, and never more than one array holds.
    private static long Remaining(BinaryReader r)
        => System.Math.Min(Array.MaxLength, r.BaseStream.CanSeek ? System.Math.Max(0, r.BaseStream.Length - r.BaseStream.Position) : long.MaxValue);

    private static T[] ReadMany<T>(long n, Func<T> read)
    {
        var a = new T[n];
        for (long i = 0; i < n; i++) a[i] = read();
        return a;
    }

    internal static void WriteHeader(BinaryWriter w, string magic, int version)
    {
        w.Write(Encoding.ASCII.GetBytes(magic));
        w.Write(version);
    }

    internal static int ReadHeader(BinaryReader r, string magic, string what)
    {
        var got = Encoding.ASCII.GetString(r.ReadBytes(magic.Length));
        if (got != magic) throw new InvalidDataException($"This is not a {what} file (magic '{got}', expected '{magic}').");
        return r.ReadInt32();
    }
}
