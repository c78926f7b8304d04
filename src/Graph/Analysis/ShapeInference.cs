using System.Runtime.InteropServices;
using Onnx;

namespace Vcut.Graph.Analysis;

/// <summary>
/// Concrete shape inference over an ONNX graph for given input shapes: every value's shape, plus the contents
/// of small int64 tensors (the Shape → Gather → Concat plumbing that feeds Reshape, Expand and Resize). Covers
/// the ops of SVD graphs as this library, PyTorch exports and ONNX Runtime's optimiser write them. An unknown
/// single-output op is assumed to keep its first input's shape (true of the element-wise and normalisation
/// contrib ops) and is listed in <see cref="AssumedOps"/>.
/// </summary>
internal sealed class ShapeInference
{
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _assumed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double[]> _floatConstants = new(StringComparer.Ordinal); // Resize scales

    private ShapeInference()
    {
    }

    /// <summary>Op types whose output shape was assumed equal to their first input's.</summary>
    public IReadOnlyCollection<string> AssumedOps => _assumed;

    /// <summary>The shape of <paramref name="value"/>, or null when unknown.</summary>
    public long[]? ShapeOf(string value) => value.Length > 0 && _shapes.TryGetValue(value, out var s) ? s : null;

    /// <summary>The contents of an int64 (or int32) value when known (small shape tensors and constants).</summary>
    public long[]? ValueOf(string value) => value.Length > 0 && _values.TryGetValue(value, out var v) ? v : null;

    /// <summary>Runs inference over <paramref name="graph"/> with the given input shapes (and int64 input values).</summary>
    /// <exception cref="InvalidDataException">A node's shape cannot be derived (named in the message).</exception>
    public static ShapeInference Run(GraphProto graph, IReadOnlyDictionary<string, long[]> inputShapes,
        IReadOnlyDictionary<string, long[]>? inputValues = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputShapes);
        var inference = new ShapeInference();
        foreach (var initializer in graph.Initializer)
        {
            inference._shapes[initializer.Name] = [.. initializer.Dims];
            if (IsInteger(initializer.DataType) && Count(initializer.Dims) <= 64 && TryReadIntegers(initializer, out var ints))
            {
                inference._values[initializer.Name] = ints;
            }
            inference.RememberFloats(initializer.Name, initializer);
        }
        foreach (var (name, shape) in inputShapes)
        {
            inference._shapes[name] = shape;
        }
        if (inputValues is not null)
        {
            foreach (var (name, value) in inputValues)
            {
                inference._values[name] = value;
            }
        }
        foreach (var node in graph.Node)
        {
            try
            {
                inference.Infer(node);
            }
            catch (Exception e) when (e is not InvalidDataException)
            {
                throw new InvalidDataException($"Cannot infer the shape of node '{node.Name}' ({node.OpType}): {e.Message}", e);
            }
        }
        return inference;
    }

    private static bool IsInteger(int dataType) =>
        dataType is (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Int32;

    private static long Count(IEnumerable<long> dims) => dims.Aggregate(1L, (a, d) => a * d);

    private static bool TryReadIntegers(TensorProto tensor, out long[] values)
    {
        if (tensor.DataType == (int)TensorProto.Types.DataType.Int64)
        {
            values = tensor.RawData.Length > 0
                ? MemoryMarshal.Cast<byte, long>(tensor.RawData.Span).ToArray()
                : [.. tensor.Int64Data];
            return values.Length == Count(tensor.Dims);
        }
        values = tensor.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, int>(tensor.RawData.Span).ToArray().Select(v => (long)v).ToArray()
            : tensor.Int32Data.Select(v => (long)v).ToArray();
        return values.Length == Count(tensor.Dims);
    }

    private long[] In(NodeProto node, int index) =>
        ShapeOf(node.Input[index]) ?? throw new InvalidDataException(
            $"Cannot infer the shape of node '{node.Name}' ({node.OpType}): input '{node.Input[index]}' has no known shape.");

    private long[] Val(NodeProto node, int index) =>
        ValueOf(node.Input[index]) ?? throw new InvalidDataException(
            $"Cannot infer the shape of node '{node.Name}' ({node.OpType}): the value of input '{node.Input[index]}' is not known statically.");

    private static AttributeProto? Attr(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static long AttrInt(NodeProto node, string name, long fallback) => Attr(node, name) is { } a ? a.I : fallback;

    private static long[]? AttrInts(NodeProto node, string name) => Attr(node, name) is { } a ? [.. a.Ints] : null;

    private void Set(NodeProto node, long[] shape, long[]? value = null, int output = 0)
    {
        _shapes[node.Output[output]] = shape;
        if (value is not null)
        {
            _values[node.Output[output]] = value;
        }
    }

    private static long Axis(long axis, int rank) => axis < 0 ? axis + rank : axis;

    private static long[] Broadcast(params long[][] shapes)
    {
        var rank = shapes.Max(s => s.Length);
        var result = new long[rank];
        for (var i = 0; i < rank; i++)
        {
            long dim = 1;
            foreach (var shape in shapes)
            {
                var j = i - (rank - shape.Length);
                if (j < 0)
                {
                    continue;
                }
                var d = shape[j];
                if (d != 1)
                {
                    if (dim != 1 && dim != d)
                    {
                        throw new InvalidDataException($"shapes [{string.Join(", ", shapes.Select(s => string.Join("×", s)))}] do not broadcast");
                    }
                    dim = d;
                }
            }
            result[i] = dim;
        }
        return result;
    }

    private void Infer(NodeProto node)
    {
        switch (node.OpType)
        {
            case "Constant":
            {
                var tensor = Attr(node, "value")?.T ?? throw new InvalidDataException($"Constant '{node.Name}' has no tensor value.");
                long[]? value = null;
                if (IsInteger(tensor.DataType) && Count(tensor.Dims) <= 64 && TryReadIntegers(tensor, out var ints))
                {
                    value = ints;
                }
                Set(node, [.. tensor.Dims], value);
                RememberFloats(node.Output[0], tensor);
                break;
            }
            case "Shape":
            {
                var shape = In(node, 0);
                var start = (int)Axis(AttrInt(node, "start", 0), shape.Length);
                var end = (int)Axis(AttrInt(node, "end", shape.Length), shape.Length);
                start = Math.Clamp(start, 0, shape.Length);
                end = Math.Clamp(end, start, shape.Length);
                Set(node, [end - start], shape[start..end]);
                break;
            }
            case "Identity" or "Cast" or "Relu" or "Sigmoid" or "Tanh" or "Erf" or "Cos" or "Sin" or "Exp" or "Log"
                or "Sqrt" or "Neg" or "Abs" or "Reciprocal" or "Softmax" or "LayerNormalization" or "InstanceNormalization"
                or "GroupNormalization" or "Gelu" or "FastGelu" or "QuickGelu" or "BiasGelu" or "Dropout" or "Clip" or "Floor" or "Ceil":
            {
                var value = ValueOf(node.Input[0]);
                Set(node, In(node, 0), node.OpType is "Identity" or "Cast" ? value : null);
                break;
            }
            case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Equal" or "Less" or "Greater" or "And" or "Or" or "Max" or "Min":
            {
                var shapes = node.Input.Select((_, i) => In(node, i)).ToArray();
                var shape = Broadcast(shapes);
                long[]? value = null;
                if (node.Input.Count == 2 && ValueOf(node.Input[0]) is { } a && ValueOf(node.Input[1]) is { } b && Count(shape) <= 64)
                {
                    value = IntegerBinary(node.OpType, a, b, (int)Count(shape));
                }
                Set(node, shape, value);
                break;
            }
            case "Where":
                Set(node, Broadcast(In(node, 0), In(node, 1), In(node, 2)));
                break;
            case "MatMul":
            {
                var a = In(node, 0);
                var b = In(node, 1);
                var aa = a.Length == 1 ? [1, a[0]] : a;
                var bb = b.Length == 1 ? [b[0], 1] : b;
                if (aa[^1] != bb[^2])
                {
                    throw new InvalidDataException($"MatMul inner dimensions differ: [{string.Join(", ", a)}] × [{string.Join(", ", b)}]");
                }
                var batch = Broadcast(aa[..^2], bb[..^2]);
                var shape = new List<long>(batch);
                if (a.Length > 1)
                {
                    shape.Add(aa[^2]);
                }
                if (b.Length > 1)
                {
                    shape.Add(bb[^1]);
                }
                Set(node, [.. shape]);
                break;
            }
            case "Gemm":
            {
                var a = In(node, 0);
                var b = In(node, 1);
                var m = AttrInt(node, "transA", 0) == 1 ? a[1] : a[0];
                var n = AttrInt(node, "transB", 0) == 1 ? b[0] : b[1];
                Set(node, [m, n]);
                break;
            }
            case "Conv":
            {
                var x = In(node, 0);
                var w = In(node, 1);
                var spatial = x.Length - 2;
                var kernel = AttrInts(node, "kernel_shape") ?? w[2..];
                var strides = AttrInts(node, "strides") ?? Enumerable.Repeat(1L, spatial).ToArray();
                var dilations = AttrInts(node, "dilations") ?? Enumerable.Repeat(1L, spatial).ToArray();
                var pads = AttrInts(node, "pads") ?? new long[2 * spatial];
                var shape = new long[x.Length];
                shape[0] = x[0];
                shape[1] = w[0];
                for (var i = 0; i < spatial; i++)
                {
                    var effective = (kernel[i] - 1) * dilations[i] + 1;
                    shape[2 + i] = (x[2 + i] + pads[i] + pads[i + spatial] - effective) / strides[i] + 1;
                }
                Set(node, shape);
                break;
            }
            case "Reshape":
            {
                var input = In(node, 0);
                var target = Val(node, 1).ToArray();
                var allowZero = AttrInt(node, "allowzero", 0) == 1;
                for (var i = 0; i < target.Length; i++)
                {
                    if (target[i] == 0 && !allowZero)
                    {
                        target[i] = input[i];
                    }
                }
                var known = target.Where(d => d != -1).Aggregate(1L, (p, d) => p * d);
                var inferred = target.Select(d => d == -1 ? Count(input) / known : d).ToArray();
                Set(node, inferred, ValueOf(node.Input[0]));
                break;
            }
            case "Flatten":
            {
                var input = In(node, 0);
                var axis = (int)Axis(AttrInt(node, "axis", 1), input.Length);
                Set(node, [Count(input[..axis]), Count(input[axis..])]);
                break;
            }
            case "Transpose":
            {
                var input = In(node, 0);
                var perm = AttrInts(node, "perm") ?? Enumerable.Range(0, input.Length).Reverse().Select(i => (long)i).ToArray();
                Set(node, perm.Select(p => input[p]).ToArray());
                break;
            }
            case "Unsqueeze":
            {
                var input = In(node, 0);
                var axes = node.Input.Count > 1 ? Val(node, 1) : AttrInts(node, "axes")!;
                var rank = input.Length + axes.Length;
                var normalized = axes.Select(a => Axis(a, rank)).ToHashSet();
                var shape = new long[rank];
                for (int i = 0, j = 0; i < rank; i++)
                {
                    shape[i] = normalized.Contains(i) ? 1 : input[j++];
                }
                Set(node, shape, ValueOf(node.Input[0]));
                break;
            }
            case "Squeeze":
            {
                var input = In(node, 0);
                long[]? axes = node.Input.Count > 1 ? Val(node, 1) : AttrInts(node, "axes");
                var drop = axes?.Select(a => Axis(a, input.Length)).ToHashSet()
                    ?? Enumerable.Range(0, input.Length).Where(i => input[i] == 1).Select(i => (long)i).ToHashSet();
                Set(node, input.Where((_, i) => !drop.Contains(i)).ToArray(), ValueOf(node.Input[0]));
                break;
            }
            case "Concat":
            {
                var shapes = node.Input.Select((_, i) => In(node, i)).ToArray();
                var axis = (int)Axis(AttrInt(node, "axis", 0), shapes[0].Length);
                var shape = shapes[0].ToArray();
                shape[axis] = shapes.Sum(s => s[axis]);
                long[]? value = null;
                if (shapes[0].Length == 1 && node.Input.All(i => ValueOf(i) is not null))
                {
                    value = node.Input.SelectMany(i => ValueOf(i)!).ToArray();
                }
                Set(node, shape, value);
                break;
            }
            case "Gather":
            {
                var data = In(node, 0);
                var indices = In(node, 1);
                var axis = (int)Axis(AttrInt(node, "axis", 0), data.Length);
                Set(node, [.. data[..axis], .. indices, .. data[(axis + 1)..]], GatherValue(node, data));
                break;
            }
            case "Slice":
            {
                var input = In(node, 0);
                var starts = Val(node, 1);
                var ends = Val(node, 2);
                var axes = node.Input.Count > 3 && node.Input[3].Length > 0 ? Val(node, 3) : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                var steps = node.Input.Count > 4 && node.Input[4].Length > 0 ? Val(node, 4) : Enumerable.Repeat(1L, starts.Length).ToArray();
                var shape = input.ToArray();
                var value = ValueOf(node.Input[0]);
                for (var i = 0; i < axes.Length; i++)
                {
                    var axis = (int)Axis(axes[i], input.Length);
                    var dim = input[axis];
                    var step = steps[i];
                    var start = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
                    var end = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], 0, dim);
                    shape[axis] = step > 0 ? Math.Max(0, (end - start + step - 1) / step) : Math.Max(0, (start - end - step - 1) / -step);
                    if (value is not null && input.Length == 1 && step == 1)
                    {
                        value = value[(int)start..(int)Math.Max(start, end)];
                    }
                    else
                    {
                        value = null;
                    }
                }
                Set(node, shape, value);
                break;
            }
            case "Expand":
            {
                var input = In(node, 0);
                Set(node, Broadcast(input, Val(node, 1)));
                break;
            }
            case "Tile":
            {
                var input = In(node, 0);
                var repeats = Val(node, 1);
                Set(node, input.Select((d, i) => d * repeats[i]).ToArray());
                break;
            }
            case "ConstantOfShape":
                Set(node, Val(node, 0));
                break;
            case "Range":
            {
                var start = Val(node, 0)[0];
                var limit = Val(node, 1)[0];
                var delta = Val(node, 2)[0];
                var count = Math.Max(0, (limit - start + delta - (delta > 0 ? 1 : -1)) / delta);
                Set(node, [count], count <= 64 ? Enumerable.Range(0, (int)count).Select(i => start + i * delta).ToArray() : null);
                break;
            }
            case "Split":
            {
                var input = In(node, 0);
                var axis = (int)Axis(AttrInt(node, "axis", 0), input.Length);
                var sizes = node.Input.Count > 1 && node.Input[1].Length > 0 ? Val(node, 1) : AttrInts(node, "split");
                sizes ??= Enumerable.Repeat(input[axis] / node.Output.Count, node.Output.Count).ToArray();
                for (var i = 0; i < node.Output.Count; i++)
                {
                    var shape = input.ToArray();
                    shape[axis] = sizes[i];
                    Set(node, shape, output: i);
                }
                break;
            }
            case "Resize" or "Upsample":
            {
                var input = In(node, 0);
                if (node.Input.Count > 3 && node.Input[3].Length > 0)
                {
                    Set(node, Val(node, 3));
                }
                else
                {
                    var scalesName = node.Input.Count > 2 ? node.Input[2] : node.Input[1];
                    var scales = ScalesOf(scalesName) ?? throw new InvalidDataException($"Resize '{node.Name}' has no static sizes or scales.");
                    Set(node, input.Select((d, i) => (long)Math.Floor(d * scales[i])).ToArray());
                }
                break;
            }
            case "Pad":
            {
                var input = In(node, 0);
                var pads = node.Input.Count > 1 ? Val(node, 1) : AttrInts(node, "pads")!;
                Set(node, input.Select((d, i) => d + pads[i] + pads[i + input.Length]).ToArray());
                break;
            }
            case "ReduceMean" or "ReduceSum" or "ReduceMax":
            {
                var input = In(node, 0);
                var axes = node.Input.Count > 1 && node.Input[1].Length > 0 ? Val(node, 1) : AttrInts(node, "axes");
                var keep = AttrInt(node, "keepdims", 1) == 1;
                var set = (axes ?? Enumerable.Range(0, input.Length).Select(i => (long)i).ToArray()).Select(a => Axis(a, input.Length)).ToHashSet();
                Set(node, keep
                    ? input.Select((d, i) => set.Contains(i) ? 1 : d).ToArray()
                    : input.Where((_, i) => !set.Contains(i)).ToArray());
                break;
            }
            case "MultiHeadAttention":
            {
                // query (B, S, C) → (B, S, C_v); value (B, L, C_v), or packed key/value.
                var query = In(node, 0);
                var value = node.Input.Count > 2 && node.Input[2].Length > 0 ? ShapeOf(node.Input[2]) : null;
                Set(node, value is { Length: 3 } ? [query[0], query[1], value[2]] : query);
                break;
            }
            case "Attention":
            {
                var input = In(node, 0);
                var weights = In(node, 1);
                Set(node, [input[0], input[1], weights[^1] / 3]);
                break;
            }
            default:
                if (node.Output.Count != 1 || node.Input.Count == 0 || node.Input[0].Length == 0)
                {
                    throw new InvalidDataException($"Unsupported op '{node.OpType}' (node '{node.Name}') for shape inference.");
                }
                _assumed.Add(node.OpType);
                Set(node, In(node, 0));
                break;
        }
    }

    private double[]? ScalesOf(string name)
    {
        if (name.Length == 0)
        {
            return null;
        }
        return _floatConstants.TryGetValue(name, out var scales) ? scales : null;
    }

    private void RememberFloats(string name, TensorProto tensor)
    {
        if (tensor.DataType == (int)TensorProto.Types.DataType.Float && Count(tensor.Dims) is > 0 and <= 16)
        {
            var floats = tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
            _floatConstants[name] = floats.Select(f => (double)f).ToArray();
        }
    }

    private long[]? GatherValue(NodeProto node, long[] dataShape)
    {
        if (ValueOf(node.Input[0]) is not { } data || ValueOf(node.Input[1]) is not { } indices || dataShape.Length != 1)
        {
            return null;
        }
        return indices.Select(i => data[(int)(i < 0 ? i + data.Length : i)]).ToArray();
    }

    private static long[]? IntegerBinary(string op, long[] a, long[] b, int count)
    {
        if ((a.Length != 1 && a.Length != count) || (b.Length != 1 && b.Length != count))
        {
            return null;
        }
        var result = new long[count];
        for (var i = 0; i < count; i++)
        {
            var x = a[a.Length == 1 ? 0 : i];
            var y = b[b.Length == 1 ? 0 : i];
            long? r = op switch
            {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                "Div" when y != 0 => x / y,
                "Max" => Math.Max(x, y),
                "Min" => Math.Min(x, y),
                _ => null,
            };
            if (r is null)
            {
                return null;
            }
            result[i] = r.Value;
        }
        return result;
    }
}
