using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Onnx;

/// <summary>
/// Builds one ONNX graph node by node. Parameters become initializers named by their state-dict key (the
/// current <see cref="Scope"/> plus a local name) with values from an <see cref="IWeightSource"/>; every other
/// constant becomes a <c>Constant</c> node, so the initializers are exactly the model's parameters.
/// A <see cref="ParameterStorage"/> decides the parameters' element type and whether their bytes go inline or to an
/// external data file; at <see cref="GraphPrecision.Float16"/> the builder also computes in float16 behind float32
/// inputs and outputs (see <see cref="Input"/>, <see cref="Output"/>, <see cref="Constant"/>).
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The ONNX domain of ONNX Runtime's contrib ops (fused attention).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    private readonly GraphProto _graph;
    private readonly IWeightSource _weights;
    private readonly ParameterStorage _storage;
    private readonly List<string> _scopes = [];
    private readonly HashSet<string> _parameterKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxValue> _int64Constants = new(StringComparer.Ordinal);
    private int _nodeCounter;
    private bool _usesMicrosoftDomain;

    /// <summary>
    /// Starts an empty graph called <paramref name="name"/>, its parameters from <paramref name="weights"/> stored
    /// as <paramref name="storage"/> says (inline float32 by default).
    /// </summary>
    public OnnxGraphBuilder(string name, IWeightSource weights, ParameterStorage? storage = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _graph = new GraphProto { Name = name };
        _weights = weights ?? throw new ArgumentNullException(nameof(weights));
        _storage = storage ?? new ParameterStorage();
    }

    /// <summary>The element type of parameters and activations.</summary>
    public GraphPrecision Precision => _storage.Precision;

    /// <summary>The ONNX element type of parameters and activations (float or float16).</summary>
    public TensorProto.Types.DataType ComputeType => _storage.Precision.ElementType();

    /// <summary>The dotted state-dict prefix currently in force, e.g. <c>down_blocks.0.resnets.1</c>.</summary>
    public string Scope => string.Join('.', _scopes);

    /// <summary>Enters a nested scope for parameter keys and node names until the returned handle is disposed.</summary>
    public IDisposable Enter(string scope)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scope);
        _scopes.Add(scope);
        return new ScopeHandle(this, _scopes.Count);
    }

    /// <summary>
    /// Declares a graph input. A string dimension is symbolic (dynamic), a number fixed. A float input of a
    /// float16 graph stays float32 at the boundary and is returned cast to float16.
    /// </summary>
    public OnnxValue Input(string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, elementType, dims));
        var input = new OnnxValue(name);
        return elementType == TensorProto.Types.DataType.Float ? ToCompute(input) : input;
    }

    /// <summary>
    /// Declares a float32 graph input that stays float32 at every precision: for values that feed float32
    /// computations (timesteps and ids into sinusoidal embeddings), where float16 would lose them.
    /// </summary>
    public OnnxValue Float32Input(string name, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, TensorProto.Types.DataType.Float, dims));
        return new OnnxValue(name);
    }

    /// <summary>
    /// Declares <paramref name="value"/> as the graph output <paramref name="name"/>. A float output of a float16
    /// graph is cast back to float32 first.
    /// </summary>
    public void Output(OnnxValue value, string name, TensorProto.Types.DataType elementType, params object[] dims)
    {
        AddNode("Identity", [elementType == TensorProto.Types.DataType.Float ? ToFloat32(value) : value], [name], [], domain: "");
        _graph.Output.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>Declares <paramref name="value"/> as the graph output <paramref name="name"/> of unknown shape (cast like <see cref="Output"/>).</summary>
    public void OutputOfAnyShape(OnnxValue value, string name, TensorProto.Types.DataType elementType)
    {
        AddNode("Identity", [elementType == TensorProto.Types.DataType.Float ? ToFloat32(value) : value], [name], [], domain: "");
        _graph.Output.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType } },
        });
    }

    /// <summary>
    /// Adds the parameter <paramref name="localName"/> of the current scope as an initializer of
    /// <see cref="ComputeType"/>, with values from the weight source (none when the source is structure-only),
    /// stored inline or in the external data file as the <see cref="ParameterStorage"/> says.
    /// </summary>
    public OnnxValue Parameter(string localName, ParameterRole role, long[] shape, long fanIn = 0)
    {
        var key = _scopes.Count == 0 ? localName : $"{Scope}.{localName}";
        if (!_parameterKeys.Add(key))
        {
            throw new InvalidOperationException($"The graph '{_graph.Name}' declares parameter '{key}' twice.");
        }
        var spec = new ParameterSpec(key, shape, role, fanIn);
        var tensor = new TensorProto { Name = key, DataType = (int)ComputeType };
        tensor.Dims.AddRange(shape);
        _storage.Store(tensor, spec, _weights);
        _graph.Initializer.Add(tensor);
        return new OnnxValue(key);
    }

    /// <summary>A constant tensor (not a parameter) of <see cref="ComputeType"/>.</summary>
    public OnnxValue Constant(float[] values, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var tensor = new TensorProto { DataType = (int)ComputeType };
        tensor.Dims.AddRange(shape);
        tensor.RawData = Precision == GraphPrecision.Float16
            ? ByteString.CopyFrom(MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()))
            : ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return AddNode("Constant", [], null, [OnnxAttr.Tensor("value", tensor)], domain: "")[0];
    }

    /// <summary>A float32 constant tensor at every precision (for computations kept in float32).</summary>
    public OnnxValue Float32Constant(float[] values, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(shape);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return AddNode("Constant", [], null, [OnnxAttr.Tensor("value", tensor)], domain: "")[0];
    }

    /// <summary>A scalar constant of <see cref="ComputeType"/>.</summary>
    public OnnxValue Scalar(float value) => Constant([value]);

    /// <summary>A float32 value cast to <see cref="ComputeType"/> (no node at float32).</summary>
    public OnnxValue ToCompute(OnnxValue float32Value) =>
        Precision == GraphPrecision.Float32
            ? float32Value
            : Op("Cast", [float32Value], OnnxAttr.Int("to", (long)ComputeType));

    /// <summary>A value of <see cref="ComputeType"/> cast to float32 (no node at float32).</summary>
    public OnnxValue ToFloat32(OnnxValue computeValue) =>
        Precision == GraphPrecision.Float32
            ? computeValue
            : Op("Cast", [computeValue], OnnxAttr.Int("to", (long)TensorProto.Types.DataType.Float));

    /// <summary>A 1-D int64 constant (shapes, axes, indices); identical ones are shared.</summary>
    public OnnxValue Int64s(params long[] values)
    {
        var cacheKey = string.Join(',', values);
        if (_int64Constants.TryGetValue(cacheKey, out var cached))
        {
            return cached;
        }
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        var value = AddNode("Constant", [], null, [OnnxAttr.Tensor("value", tensor)], domain: "", scoped: false)[0];
        _int64Constants[cacheKey] = value;
        return value;
    }

    /// <summary>An int64 scalar constant.</summary>
    public OnnxValue Int64Scalar(long value)
    {
        var tensor = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Int64Data.Add(value);
        return AddNode("Constant", [], null, [OnnxAttr.Tensor("value", tensor)], domain: "")[0];
    }

    /// <summary>Adds a node with one output.</summary>
    public OnnxValue Op(string opType, OnnxValue[] inputs, params AttributeProto[] attributes) =>
        AddNode(opType, inputs, null, attributes, domain: "")[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs.</summary>
    public OnnxValue[] Ops(string opType, OnnxValue[] inputs, int outputCount, params AttributeProto[] attributes) =>
        AddNode(opType, inputs, null, attributes, domain: "", outputCount: outputCount);

    /// <summary>Adds a node of ONNX Runtime's <c>com.microsoft</c> domain with one output.</summary>
    public OnnxValue MicrosoftOp(string opType, OnnxValue[] inputs, params AttributeProto[] attributes)
    {
        _usesMicrosoftDomain = true;
        return AddNode(opType, inputs, null, attributes, domain: MicrosoftDomain)[0];
    }

    /// <summary>Wraps the graph in a model with the given default-domain opset.</summary>
    public ModelProto ToModel(int opset, string docString)
    {
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Vcut.MLNet",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (_usesMicrosoftDomain)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        }
        return model;
    }

    private OnnxValue[] AddNode(
        string opType, OnnxValue[] inputs, string[]? outputNames, AttributeProto[] attributes, string domain,
        int outputCount = 1, bool scoped = true)
    {
        var index = _nodeCounter++;
        var prefix = scoped && _scopes.Count > 0 ? "/" + string.Join('/', _scopes) : "";
        var node = new NodeProto { Name = $"{prefix}/{opType}_{index}", OpType = opType, Domain = domain };
        foreach (var input in inputs)
        {
            node.Input.Add(input.Name);
        }
        outputNames ??= Enumerable.Range(0, outputCount).Select(k => $"{node.Name}_output_{k}").ToArray();
        node.Output.AddRange(outputNames);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return outputNames.Select(n => new OnnxValue(n)).ToArray();
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType elementType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int size => new TensorShapeProto.Types.Dimension { DimValue = size },
                long size => new TensorShapeProto.Types.Dimension { DimValue = size },
                _ => throw new ArgumentException($"Dimension '{dim}' of '{name}' must be a string or an integer.", nameof(dims)),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elementType, Shape = shape } },
        };
    }

    private sealed class ScopeHandle(OnnxGraphBuilder owner, int depth) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (owner._scopes.Count != depth)
            {
                throw new InvalidOperationException("Graph scopes must be closed in the order they were opened.");
            }
            owner._scopes.RemoveAt(depth - 1);
        }
    }
}
