using Google.Protobuf;
using Onnx;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// A thin writer of ONNX graphs: nodes with generated output names, typed constants as initializers, and typed
/// inputs and outputs. Loop bodies are builders of their own that may read the outer graph's names.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly string _prefix;
    private int _counter;

    public GraphBuilder(string name, string prefix = "")
    {
        Graph = new GraphProto { Name = name };
        _prefix = prefix;
    }

    public GraphProto Graph { get; }

    /// <summary>A name no other value of this graph has, for outputs named by the caller.</summary>
    public string Fresh(string hint) => $"{_prefix}{hint}_{_counter++}";

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Op(string opType, params string[] inputs) => OpWith(opType, inputs, []);

    /// <summary>Adds a node with attributes and one output.</summary>
    public string OpWith(string opType, string[] inputs, AttributeProto[] attributes)
    {
        var output = Fresh(opType.ToLowerInvariant());
        var node = new NodeProto { OpType = opType, Name = output + "_node" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a node whose outputs are named by the caller.</summary>
    public void OpNamed(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(opType.ToLowerInvariant() + "_node") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
    }

    public string Add(string a, string b) => Op("Add", a, b);
    public string Sub(string a, string b) => Op("Sub", a, b);
    public string Mul(string a, string b) => Op("Mul", a, b);
    public string Div(string a, string b) => Op("Div", a, b);
    public string Cast(string a, TensorProto.Types.DataType to) => OpWith("Cast", [a], [Int("to", (long)to)]);
    public string Identity(string a) => Op("Identity", a);

    /// <summary>x * sigmoid(x).</summary>
    public string Silu(string x) => Mul(x, Op("Sigmoid", x));

    public string Float(params float[] values) => Initializer(TensorProto.Types.DataType.Float, values.Length == 1 ? [] : [values.Length], t => t.FloatData.AddRange(values));
    public string FloatTensor(float[] values, long[] dims) => Initializer(TensorProto.Types.DataType.Float, dims, t => t.FloatData.AddRange(values));
    public string DoubleTensor(double[] values, long[] dims) => Initializer(TensorProto.Types.DataType.Double, dims, t => t.DoubleData.AddRange(values));
    public string Double(params double[] values) => Initializer(TensorProto.Types.DataType.Double, values.Length == 1 ? [] : [values.Length], t => t.DoubleData.AddRange(values));
    public string Int64(params long[] values) => Initializer(TensorProto.Types.DataType.Int64, values.Length == 1 ? [] : [values.Length], t => t.Int64Data.AddRange(values));
    public string Int64Vector(params long[] values) => Initializer(TensorProto.Types.DataType.Int64, [values.Length], t => t.Int64Data.AddRange(values));
    public string UInt64(params ulong[] values) => Initializer(TensorProto.Types.DataType.Uint64, values.Length == 1 ? [] : [values.Length], t => t.Uint64Data.AddRange(values));

    private string Initializer(TensorProto.Types.DataType type, long[] dims, Action<TensorProto> fill)
    {
        var name = Fresh("const");
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        fill(tensor);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Declares a graph input; a null dimension is the symbolic batch size "N".</summary>
    public void Input(string name, TensorProto.Types.DataType type, params long?[] dims) => Graph.Input.Add(ValueInfo(name, type, dims));

    /// <summary>Declares a graph output; a null dimension is the symbolic batch size "N".</summary>
    public void Output(string name, TensorProto.Types.DataType type, params long?[] dims) => Graph.Output.Add(ValueInfo(name, type, dims));

    /// <summary>A value with a type but no shape (Loop body state).</summary>
    public static ValueInfoProto Untyped(string name, TensorProto.Types.DataType type)
        => new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } };

    public static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
    public static AttributeProto GraphAttr(string name, GraphProto graph) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };
    public static AttributeProto Str(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>Wraps the graph into a model at IR 8 and the given opset, serialised.</summary>
    public byte[] ToModelBytes(int opset, string producer)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = producer, Graph = Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model.ToByteArray();
    }
}
