using Google.Protobuf;
using Onnx;
using Vcut.Graph.Analysis;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.Vcut;

/// <summary>One cross-attention the rewriter found.</summary>
/// <param name="Name">Its state-dict prefix when the weights are named like diffusers' (else <c>cross_attention.N</c>).</param>
/// <param name="Kind">Spatial or temporal, from the probe shapes (query over h·w tokens, or over frames).</param>
/// <param name="Channels">Output width C.</param>
/// <param name="KeyLength">Keys per query (1 in SVD).</param>
/// <param name="Form"><c>plain</c> (MatMul/Softmax) or <c>fused</c> (com.microsoft MultiHeadAttention).</param>
public sealed record FoundCrossAttention(string Name, CrossAttentionKind Kind, int Channels, long KeyLength, string Form)
{
    /// <summary>The name of its cached constant.</summary>
    public string CacheName => $"{Name}.cached";

    /// <summary>The graph node of the attention itself (the Softmax, or the MultiHeadAttention), for messages.</summary>
    public string Node { get; init; } = "";
}

/// <summary>What a rewrite did.</summary>
/// <param name="Mode">The VCUT mode written.</param>
/// <param name="Found">Every cross-attention found, in graph order.</param>
/// <param name="UNetParametersBefore">UNet parameters before.</param>
/// <param name="UNetParametersAfter">UNet parameters after (the loop's weights).</param>
/// <param name="CacheParameters">Parameters of the conditioning-cache graph (run once per video).</param>
public sealed record RewriteReport(VcutMode Mode, IReadOnlyList<FoundCrossAttention> Found,
    long UNetParametersBefore, long UNetParametersAfter, long CacheParameters)
{
    /// <inheritdoc />
    public override string ToString()
    {
        var spatial = Found.Where(f => f.Kind == CrossAttentionKind.Spatial).ToList();
        var temporal = Found.Where(f => f.Kind == CrossAttentionKind.Temporal).ToList();
        string Widths(IEnumerable<FoundCrossAttention> list) =>
            string.Join(", ", list.GroupBy(f => f.Channels).OrderBy(g => g.Key).Select(g => $"{g.Count()}×{g.Key}"));
        return $"found {Found.Count} cross-attentions (key length {string.Join("/", Found.Select(f => f.KeyLength).Distinct())}, " +
               $"{string.Join("/", Found.Select(f => f.Form).Distinct())}): {spatial.Count} spatial ({Widths(spatial)}), " +
               $"{temporal.Count} temporal ({Widths(temporal)}); mode {Mode.ToString().ToLowerInvariant()}: UNet parameters " +
               $"{UNetParametersBefore:N0} → {UNetParametersAfter:N0}, conditioning cache {CacheParameters:N0}";
    }
}

/// <summary>A rewritten UNet, its conditioning-cache graph and the report.</summary>
/// <param name="UNet">The UNet that takes the cached constants instead of <c>encoder_hidden_states</c>.</param>
/// <param name="Cache">The graph mapping <c>encoder_hidden_states</c> to the constants.</param>
/// <param name="Report">What was found and changed.</param>
public sealed record RewriteResult(ModelProto UNet, ModelProto Cache, RewriteReport Report);

/// <summary>
/// Rewrites an SVD UNet graph (built here or exported elsewhere) for VCUT. The cross-attentions are found by
/// structure, not names: attentions whose keys and values derive from <c>encoder_hidden_states</c> alone, in the
/// plain MatMul → Softmax → MatMul form of a PyTorch export or as ONNX Runtime's fused
/// <c>com.microsoft.MultiHeadAttention</c>. Each one's output projection to_out(to_v(c)) moves into a
/// conditioning-cache graph; the UNet adds the cached (N, C) constant where the attention's output was added
/// (<see cref="VcutMode.Exact"/>), or, for temporal ones in <see cref="VcutMode.Paper"/>, adds nothing.
/// A graph whose cross-attentions do not add up is refused with the reason, never written wrong.
/// </summary>
public static class VcutRewriter
{
    private const string ContextInput = GraphPorts.EncoderHiddenStates;
    private const int ProbeBatch = 2;
    private const int ProbeFrames = 3;  // distinct from every probe h·w, so spatial and temporal queries differ
    private const int ProbeLatent = 16;

    private static readonly HashSet<string> Plumbing = new(StringComparer.Ordinal)
    {
        "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Expand", "Tile", "Cast", "Identity", "Flatten",
    };

    private sealed record Candidate(
        string Attention, string Form, string ValueSide, string KeyValue, int KeyAxis, NodeProto ValueLinear, string? ValueBias,
        NodeProto OutLinear, string? OutBias, string OutValue, NodeProto Residual, string ResidualStream, int Ordinal);

    private sealed record Match(
        FoundCrossAttention Found, string ValueSide, NodeProto ValueLinear, string ValueWeight, string? ValueBias,
        NodeProto OutLinear, string OutWeight, string? OutBias, NodeProto Residual, string ResidualStream);

    /// <summary>
    /// Rewrites <paramref name="unet"/> (modified in place and returned as <see cref="RewriteResult.UNet"/>) for
    /// <paramref name="mode"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">Not an SVD UNet, no cross-attention, a key length other than one, or a structure that does not add up.</exception>
    public static RewriteResult Rewrite(ModelProto unet, VcutMode mode) => Rewrite(unet, mode, null);

    /// <summary>
    /// Rewrites <paramref name="unet"/> for <paramref name="mode"/>, measuring the shapes it needs (key lengths, the
    /// residual streams' layout) with <paramref name="probe"/> (<see cref="ShapeProbes.Static"/> when null; the runtime
    /// passes an ONNX Runtime probe run).
    /// </summary>
    /// <exception cref="InvalidDataException">Not an SVD UNet, no cross-attention, a key length other than one, an attention form it cannot rewrite, or a structure that does not add up; the message names the node.</exception>
    public static RewriteResult Rewrite(ModelProto unet, VcutMode mode, ShapeProbe? probe)
    {
        ArgumentNullException.ThrowIfNull(unet);
        if (mode == VcutMode.Off)
        {
            throw new ArgumentException("Rewriting to VCUT mode 'off' changes nothing; choose 'paper' or 'exact'.", nameof(mode));
        }
        var graph = unet.Graph ?? throw new InvalidDataException("The model has no graph.");
        var context = graph.Input.FirstOrDefault(i => i.Name == ContextInput)
            ?? throw new InvalidDataException(
                $"The UNet has no '{ContextInput}' input (inputs: {string.Join(", ", graph.Input.Select(i => i.Name))}): " +
                "it is not an SVD UNet, or it was already rewritten for VCUT.");
        var sample = graph.Input.FirstOrDefault(i => i.Name == GraphPorts.Sample)
            ?? throw new InvalidDataException($"The UNet has no '{GraphPorts.Sample}' input: it is not an SVD UNet.");
        var crossWidth = StaticDim(context, 2, ContextInput);
        var inChannels = StaticDim(sample, 2, GraphPorts.Sample);
        var parametersBefore = Parameters(graph);

        var index = new GraphIndex(graph);
        var probeInputs = ProbeInputs(graph, inChannels, crossWidth, out var probeFrames);
        var candidates = FindCrossAttentions(index);
        var needed = candidates.SelectMany(c => new[] { c.KeyValue, c.ResidualStream, c.OutValue }).Distinct().ToList();
        var shapes = (probe ?? ShapeProbes.Static)(unet, probeInputs, needed);
        var matches = candidates.Select(c => Measure(index, c, shapes, probeFrames)).ToList();
        Validate(matches);

        // A float16 UNet (converted with --fp16) keeps float32 at its boundaries: the cached constants travel as
        // float32 and are cast where they meet float16 weights and activations.
        var float16 = IsFloat16(index, matches[0].OutWeight);
        var cache = BuildCache(index, matches, mode, crossWidth, unet, float16);
        RewriteUNet(graph, index, matches, mode, float16);
        RemoveDeadCode(graph);
        var report = new RewriteReport(mode, matches.Select(m => m.Found).ToList(), parametersBefore, Parameters(graph), Parameters(cache.Graph));
        unet.DocString = $"{unet.DocString} [VCUT {mode.ToString().ToLowerInvariant()}: {report}]".Trim();
        return new RewriteResult(unet, cache, report);
    }

    private static long StaticDim(ValueInfoProto value, int axis, string name)
    {
        var dims = value.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count <= axis || dims[axis].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
        {
            throw new InvalidDataException($"The UNet input '{name}' must declare a fixed size on axis {axis}.");
        }
        return dims[axis].DimValue;
    }

    private static long Parameters(GraphProto graph) => graph.Initializer.Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d));

    /// <summary>
    /// A concrete shape per graph input: declared sizes where fixed, else 2 rows, 3 frames (distinct from every
    /// probe h·w, so spatial and temporal queries differ), a 16×16 latent, one context token.
    /// </summary>
    private static Dictionary<string, long[]> ProbeInputs(GraphProto graph, long inChannels, long crossWidth, out long frames)
    {
        long[] Shape(ValueInfoProto input, long[] fallback)
        {
            var dims = input.Type?.TensorType?.Shape?.Dim;
            if (dims is null)
            {
                return fallback;
            }
            return dims.Select((d, i) => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0
                ? d.DimValue
                : i < fallback.Length ? fallback[i] : 1).ToArray();
        }
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            inputs[input.Name] = input.Name switch
            {
                GraphPorts.Sample => Shape(input, [ProbeBatch, ProbeFrames, inChannels, ProbeLatent, ProbeLatent]),
                ContextInput => Shape(input, [ProbeBatch, 1, crossWidth]),
                GraphPorts.AddedTimeIds => Shape(input, [ProbeBatch, GraphPorts.AddedTimeIdCount]),
                _ => Shape(input, [1]),
            };
        }
        frames = inputs[GraphPorts.Sample][1];
        return inputs;
    }

    private static List<Candidate> FindCrossAttentions(GraphIndex index)
    {
        var dependencies = index.InputDependencies();
        bool ContextOnly(string value) =>
            dependencies.TryGetValue(value, out var set) && set.Count == 1 && set.Contains(ContextInput);
        var matches = new List<Candidate>();
        var claimed = new HashSet<NodeProto>();
        foreach (var node in index.Graph.Node)
        {
            string valueSide, attentionOutput, form, keyValue;
            int keyAxis;
            if (node.OpType == "MultiHeadAttention" && node.Input.Count >= 2 && ContextOnly(node.Input[1]))
            {
                if (node.Input.Count < 3 || node.Input[2].Length == 0)
                {
                    throw new InvalidDataException(
                        $"Cross-attention '{node.Name}' (com.microsoft.MultiHeadAttention) packs keys and values in one input; " +
                        "only separate key and value inputs are supported.");
                }
                valueSide = node.Input[2];
                attentionOutput = node.Output[0];
                (keyValue, keyAxis) = (node.Input[1], 1);
                form = "fused";
                claimed.Add(node);
            }
            else if (node.OpType == "Softmax")
            {
                var scores = Upstream(index, node.Input[0]);
                if (scores?.OpType != "MatMul" || !ContextOnly(scores.Input[1]))
                {
                    continue;
                }
                var probabilities = node.Output[0];
                var weighted = index.Consumers(probabilities).FirstOrDefault(c => c.OpType == "MatMul" && c.Input[0] == probabilities);
                if (weighted is null && index.Consumers(probabilities) is [{ OpType: "Cast" } cast])
                {
                    weighted = index.Consumers(cast.Output[0]).FirstOrDefault(c => c.OpType == "MatMul" && c.Input[0] == cast.Output[0]);
                }
                if (weighted is null || !ContextOnly(weighted.Input[1]))
                {
                    throw new InvalidDataException(
                        $"Attention '{node.Name}' (Softmax) takes its keys from '{ContextInput}' but its values from elsewhere; cannot rewrite it.");
                }
                valueSide = weighted.Input[1];
                attentionOutput = weighted.Output[0];
                (keyValue, keyAxis) = (scores.Output[0], -1);
                form = "plain";
                claimed.Add(scores);
                claimed.Add(weighted);
            }
            else if (node.Domain == "com.microsoft" && node.OpType is "Attention" or "PackedMultiHeadAttention" or "PackedAttention"
                     or "GroupQueryAttention" or "DecoderAttention" && node.Input.Any(i => i.Length > 0 && ContextOnly(i)))
            {
                throw new InvalidDataException(
                    $"Node '{node.Name}' ({node.Domain}.{node.OpType}) reads '{ContextInput}': this attention form cannot be rewritten for VCUT " +
                    "(supported: MatMul → Softmax → MatMul, with or without scale/bias, and com.microsoft.MultiHeadAttention with separate key and value).");
            }
            else
            {
                continue;
            }
            matches.Add(Complete(index, node, valueSide, attentionOutput, keyValue, keyAxis, form, matches.Count));
        }

        // Every use of the context must be one of the attentions found: anything else would be silently changed.
        var stray = index.Graph.Node.FirstOrDefault(node =>
            node.OpType != "Shape" && node.Input.Any(i => i.Length > 0 && ContextOnly(i))
            && !node.Output.All(ContextOnly) && !claimed.Contains(node));
        if (matches.Count == 0)
        {
            throw new InvalidDataException(
                $"No cross-attention reads '{ContextInput}': nothing for VCUT to cache" +
                (stray is null ? "." : $" (it is used by node '{stray.Name}' ({stray.OpType}) instead)."));
        }
        if (stray is not null)
        {
            throw new InvalidDataException(
                $"Node '{stray.Name}' ({stray.OpType}) uses '{ContextInput}' outside a recognised cross-attention (an unknown attention form?); " +
                "refusing to rewrite. Supported: MatMul → Softmax → MatMul and com.microsoft.MultiHeadAttention with separate key and value.");
        }
        return matches;
    }

    /// <summary>
    /// Back from a Softmax input to the scores MatMul: through a scale (Mul/Div by a constant), a Cast, and an additive
    /// bias or mask (Add; baddbmm's beta·empty), whose value cannot change a softmax over a single key.
    /// </summary>
    private static NodeProto? Upstream(GraphIndex index, string value)
    {
        var node = index.Producer(value);
        for (var depth = 0; node is not null && depth < 8; depth++)
        {
            switch (node.OpType)
            {
                case "Mul" or "Div" or "Cast":
                    var next = node.Input.FirstOrDefault(i => !index.IsConstant(i));
                    node = next is null ? null : index.Producer(next);
                    break;
                case "Add":
                    node = node.Input.Select(i => index.Producer(i)).FirstOrDefault(p => p is not null && Reaches(index, p, "MatMul"));
                    break;
                default:
                    return node;
            }
        }
        return node;
    }

    private static bool Reaches(GraphIndex index, NodeProto node, string opType)
    {
        for (var depth = 0; node is not null && depth < 4; depth++)
        {
            if (node.OpType == opType)
            {
                return true;
            }
            if (node.OpType is not ("Mul" or "Div" or "Cast"))
            {
                return false;
            }
            var next = node.Input.FirstOrDefault(i => !index.IsConstant(i));
            node = next is null ? null! : index.Producer(next)!;
        }
        return false;
    }

    private static Candidate Complete(GraphIndex index, NodeProto attention, string valueSide, string attentionOutput, string keyValue, int keyAxis,
        string form, int ordinal)
    {
        // to_v: back from the value input through head plumbing to the linear layer on the context.
        var node = index.Producer(valueSide);
        string? valueBias = null;
        while (node is not null && Plumbing.Contains(node.OpType))
        {
            node = index.Producer(node.Input[0]);
        }
        if (node?.OpType == "Add" && node.Input.Count(index.IsConstant) == 1)
        {
            valueBias = node.Input.First(index.IsConstant);
            node = index.Producer(node.Input.First(i => !index.IsConstant(i)));
        }
        if (node is null || node.OpType is not ("MatMul" or "Gemm") || !index.IsConstant(node.Input[1]))
        {
            throw new InvalidDataException(
                $"Cannot find the value projection (to_v) of the cross-attention '{attention.Name}' ({attention.OpType}) reading '{valueSide}': " +
                $"expected MatMul or Gemm with a constant weight, found {(node is null ? "a graph input" : $"'{node.Name}' ({node.OpType})")}.");
        }
        var valueLinear = node;

        // to_out: forward from the attention output through plumbing to the linear layer, its bias, the residual add.
        var value = attentionOutput;
        NodeProto? next;
        while ((next = SingleConsumer(index, value)) is not null && Plumbing.Contains(next.OpType))
        {
            value = next.Output[0];
        }
        if (next is null || next.OpType is not ("MatMul" or "Gemm") || !index.IsConstant(next.Input[1]))
        {
            throw new InvalidDataException(
                $"Cannot find the output projection (to_out) after the cross-attention '{attention.Name}' ({attention.OpType}): expected MatMul " +
                $"or Gemm with a constant weight, found {(next is null ? "several consumers" : $"'{next.Name}' ({next.OpType})")}.");
        }
        var outLinear = next;
        value = outLinear.Output[0];
        string? outBias = null;
        next = SingleConsumer(index, value);
        if (next?.OpType == "Add" && next.Input.Count(index.IsConstant) == 1)
        {
            outBias = next.Input.First(index.IsConstant);
            value = next.Output[0];
            next = SingleConsumer(index, value);
        }
        if (next?.OpType != "Add" || next.Input.Count != 2 || next.Input.Any(index.IsConstant))
        {
            throw new InvalidDataException(
                $"The output '{value}' of cross-attention '{attention.Name}' ({attention.OpType}) is not added to a residual stream; cannot rewrite it.");
        }
        var residualStream = next.Input[0] == value ? next.Input[1] : next.Input[0];
        return new Candidate(attention.Name, form, valueSide, keyValue, keyAxis, valueLinear, valueBias, outLinear, outBias, value, next,
            residualStream, ordinal);
    }

    private static Match Measure(GraphIndex index, Candidate c, IReadOnlyDictionary<string, long[]> shapes, long probeFrames)
    {
        long[] ShapeOf(string value) => shapes.TryGetValue(value, out var shape)
            ? shape
            : throw new InvalidDataException($"The shape probe gave no shape for '{value}' (cross-attention '{c.Attention}').");
        var key = ShapeOf(c.KeyValue);
        // Plain: the scores' last axis. Fused: key (B, L, C), or (B, heads, L, head width) in the BNSH layout.
        var keyLength = key.Length == 0 ? -1 : c.KeyAxis < 0 ? key[^1] : key.Length == 3 ? key[1] : key.Length == 4 ? key[2] : -1;
        var stream = ShapeOf(c.ResidualStream);
        var output = ShapeOf(c.OutValue);
        if (stream.Length != 3 || output.Length != 3 || stream[2] != output[2])
        {
            throw new InvalidDataException(
                $"The output [{string.Join(", ", output)}] of cross-attention '{c.Attention}' and its residual stream [{string.Join(", ", stream)}] " +
                "are not (rows, tokens, C) of one width.");
        }
        var kind = stream[1] == probeFrames ? CrossAttentionKind.Temporal : CrossAttentionKind.Spatial;
        var name = NameFromWeight(index, c.OutLinear.Input[1]) ?? $"cross_attention.{c.Ordinal}";
        var found = new FoundCrossAttention(name, kind, (int)stream[2], keyLength, c.Form) { Node = c.Attention };
        return new Match(found, c.ValueSide, c.ValueLinear, c.ValueLinear.Input[1], c.ValueBias, c.OutLinear, c.OutLinear.Input[1], c.OutBias,
            c.Residual, c.ResidualStream);
    }

    private static NodeProto? SingleConsumer(GraphIndex index, string value) =>
        index.Consumers(value) is [var only] ? only : null;

    private static string? NameFromWeight(GraphIndex index, string weight)
    {
        // A diffusers-named weight (possibly behind a Transpose) names the attention: "….attn2.to_out.0.weight".
        var name = weight;
        while (!index.Initializers.ContainsKey(name) && index.Producer(name) is { Input.Count: >= 1 } producer)
        {
            name = producer.Input[0];
        }
        const string suffix = ".to_out.0.weight";
        return name.EndsWith(suffix, StringComparison.Ordinal) ? name[..^suffix.Length] : null;
    }

    private static void Validate(List<Match> matches)
    {
        if (matches.Count == 0)
        {
            throw new InvalidDataException($"No cross-attention reads '{ContextInput}': nothing for VCUT to cache.");
        }
        foreach (var match in matches.Where(m => m.Found.KeyLength != 1))
        {
            throw new InvalidDataException(
                $"Cross-attention '{match.Found.Name}' (node '{match.Found.Node}') attends over {match.Found.KeyLength} keys; VCUT's constant holds only for a single key.");
        }
        var spatial = matches.Count(m => m.Found.Kind == CrossAttentionKind.Spatial);
        var temporal = matches.Count - spatial;
        if (spatial != temporal)
        {
            string Nodes(CrossAttentionKind kind) => string.Join(", ", matches.Where(m => m.Found.Kind == kind).Select(m => $"'{m.Found.Node}'"));
            throw new InvalidDataException(
                $"Found {spatial} spatial and {temporal} temporal cross-attentions; an SVD UNet pairs them. Refusing to write a model that may be wrong. " +
                $"Spatial: {Nodes(CrossAttentionKind.Spatial)}; temporal: {Nodes(CrossAttentionKind.Temporal)}.");
        }
        var duplicates = matches.GroupBy(m => m.Found.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw new InvalidDataException($"Cross-attentions share the weights '{string.Join(", ", duplicates)}'; cannot cache them separately.");
        }
    }

    private static bool IsFloat16(GraphIndex index, string weight)
    {
        var name = weight;
        while (!index.Initializers.ContainsKey(name) && index.Producer(name) is { Input.Count: >= 1 } producer)
        {
            name = producer.Input[0];
        }
        return index.Initializers.TryGetValue(name, out var tensor) && tensor.DataType == (int)TensorProto.Types.DataType.Float16;
    }

    private static NodeProto Cast(string name, string input, string output, TensorProto.Types.DataType to) =>
        Node("Cast", name, [input], [output], OnnxAttr.Int("to", (long)to));

    private static ModelProto BuildCache(GraphIndex index, List<Match> matches, VcutMode mode, long crossWidth, ModelProto source, bool float16)
    {
        var graph = new GraphProto { Name = "conditioning_cache" };
        // The cache takes and gives float32 whatever the UNet's ports: a float16 context port is cast inside.
        var contextInput = index.Graph.Input.First(i => i.Name == ContextInput).Clone();
        contextInput.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Float;
        graph.Input.Add(contextInput);
        var copiedNodes = new HashSet<NodeProto>();
        var copiedInitializers = new HashSet<string>(StringComparer.Ordinal);

        void CopyConstant(string value)
        {
            if (index.Initializers.TryGetValue(value, out var initializer))
            {
                if (copiedInitializers.Add(value))
                {
                    graph.Initializer.Add(initializer);
                }
                return;
            }
            var producer = index.Producer(value) ?? throw new InvalidDataException($"Constant '{value}' has no producer.");
            foreach (var input in producer.Input.Where(i => i.Length > 0))
            {
                CopyConstant(input);
            }
            if (copiedNodes.Add(producer))
            {
                graph.Node.Add(producer.Clone());
            }
        }

        var shape = new TensorProto { Name = "vcut.context_shape", DataType = (int)TensorProto.Types.DataType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.Add([-1, crossWidth]);
        graph.Node.Add(ConstantNode(shape));
        graph.Node.Add(Node("Reshape", "vcut/context", [ContextInput, shape.Name], ["vcut.context"]));
        var context = "vcut.context";
        if (float16)
        {
            graph.Node.Add(Cast("vcut/context_cast", context, "vcut.context_float16", TensorProto.Types.DataType.Float16));
            context = "vcut.context_float16";
        }

        foreach (var match in matches.Where(m => mode == VcutMode.Exact || m.Found.Kind == CrossAttentionKind.Spatial))
        {
            var prefix = $"vcut/{match.Found.Name}";
            foreach (var constant in new[] { match.ValueWeight, match.ValueBias, match.OutWeight, match.OutBias }.OfType<string>())
            {
                CopyConstant(constant);
            }
            var v = Linear(graph, match.ValueLinear, context, match.ValueWeight, $"{prefix}/to_v");
            if (match.ValueBias is { } valueBias)
            {
                graph.Node.Add(Node("Add", $"{prefix}/to_v_bias", [v, valueBias], [$"{prefix}/to_v_bias_output"]));
                v = $"{prefix}/to_v_bias_output";
            }
            var o = Linear(graph, match.OutLinear, v, match.OutWeight, $"{prefix}/to_out");
            var result = float16 ? $"{prefix}/float16_output" : match.Found.CacheName;
            if (match.OutBias is { } outBias)
            {
                graph.Node.Add(Node("Add", $"{prefix}/to_out_bias", [o, outBias], [result]));
            }
            else
            {
                graph.Node.Add(Node("Identity", $"{prefix}/output", [o], [result]));
            }
            if (float16)
            {
                graph.Node.Add(Cast($"{prefix}/output_cast", result, match.Found.CacheName, TensorProto.Types.DataType.Float));
            }
            graph.Output.Add(TensorValue(match.Found.CacheName, "batch", match.Found.Channels));
        }
        var model = new ModelProto
        {
            IrVersion = source.IrVersion,
            ProducerName = "Vcut.MLNet rewriter",
            DocString = $"VCUT conditioning cache ({mode.ToString().ToLowerInvariant()}): to_out(to_v(c)) per cross-attention",
            Graph = graph,
        };
        model.OpsetImport.AddRange(source.OpsetImport.Where(o => o.Domain is "" or "ai.onnx"));
        return model;
    }

    private static string Linear(GraphProto graph, NodeProto original, string input, string weight, string name)
    {
        var node = Node(original.OpType, name, [input, weight, .. original.Input.Skip(2)], [$"{name}_output"]);
        node.Attribute.AddRange(original.Attribute);
        graph.Node.Add(node);
        return node.Output[0];
    }

    private static void RewriteUNet(GraphProto graph, GraphIndex index, List<Match> matches, VcutMode mode, bool float16)
    {
        // N as int64 [1]: Shape then Gather, which every opset from 13 reads (Shape's start/end need opset 15).
        var zero = new TensorProto { Name = "vcut.zero", DataType = (int)TensorProto.Types.DataType.Int64 };
        zero.Dims.Add(1);
        zero.Int64Data.Add(0);
        var shape = Node("Shape", "vcut/sample_shape", [GraphPorts.Sample], ["vcut.sample_shape"]);
        var batch = Node("Gather", "vcut/batch", ["vcut.sample_shape", zero.Name], ["vcut.batch"], OnnxAttr.Int("axis", 0));
        var minusOne = new TensorProto { Name = "vcut.minus_one", DataType = (int)TensorProto.Types.DataType.Int64 };
        minusOne.Dims.Add(1);
        minusOne.Int64Data.Add(-1);
        var one = new TensorProto { Name = "vcut.one", DataType = (int)TensorProto.Types.DataType.Int64 };
        one.Dims.Add(1);
        one.Int64Data.Add(1);
        graph.Node.Insert(0, ConstantNode(zero));
        graph.Node.Insert(1, shape);
        graph.Node.Insert(2, batch);
        graph.Node.Insert(3, ConstantNode(minusOne));
        graph.Node.Insert(4, ConstantNode(one));

        foreach (var match in matches)
        {
            var residual = match.Residual;
            var position = graph.Node.IndexOf(residual);
            graph.Node.RemoveAt(position);
            var result = residual.Output[0];
            var prefix = $"vcut/{match.Found.Name}";
            if (mode == VcutMode.Paper && match.Found.Kind == CrossAttentionKind.Temporal)
            {
                graph.Node.Insert(position, Node("Identity", $"{prefix}/removed", [match.ResidualStream], [result]));
                continue;
            }
            graph.Input.Add(TensorValue(match.Found.CacheName, "batch", match.Found.Channels));
            // View the (rows, tokens, C) stream as (N, rows/N·tokens, C) — rows are grouped by video in both
            // the spatial (n·F + f) and the temporal (n·h·w + s) layout — and add the (N, 1, C) constant.
            var width = new TensorProto { Name = $"{prefix}/width", DataType = (int)TensorProto.Types.DataType.Int64 };
            width.Dims.Add(1);
            width.Int64Data.Add(match.Found.Channels);
            var constant = match.Found.CacheName;
            NodeProto[] cast = float16
                ? [Cast($"{prefix}/constant_cast", constant, $"{prefix}/constant_float16", TensorProto.Types.DataType.Float16)]
                : [];
            if (float16)
            {
                constant = $"{prefix}/constant_float16";
            }
            NodeProto[] nodes =
            [
                .. cast,
                ConstantNode(width),
                Node("Concat", $"{prefix}/view_shape", ["vcut.batch", minusOne.Name, width.Name], [$"{prefix}/view_shape_output"], OnnxAttr.Int("axis", 0)),
                Node("Reshape", $"{prefix}/view", [match.ResidualStream, $"{prefix}/view_shape_output"], [$"{prefix}/view_output"]),
                Node("Unsqueeze", $"{prefix}/constant", [constant, one.Name], [$"{prefix}/constant_output"]),
                Node("Add", $"{prefix}/add", [$"{prefix}/view_output", $"{prefix}/constant_output"], [$"{prefix}/add_output"]),
                Node("Shape", $"{prefix}/stream_shape", [match.ResidualStream], [$"{prefix}/stream_shape_output"]),
                Node("Reshape", $"{prefix}/restore", [$"{prefix}/add_output", $"{prefix}/stream_shape_output"], [result]),
            ];
            for (var i = 0; i < nodes.Length; i++)
            {
                graph.Node.Insert(position + i, nodes[i]);
            }
        }
    }

    /// <summary>Removes nodes that no graph output needs, then unused initializers and inputs.</summary>
    internal static void RemoveDeadCode(GraphProto graph)
    {
        var live = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[graph.Node.Count];
        for (var i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (node.Output.Any(live.Contains))
            {
                keep[i] = true;
                foreach (var input in SubgraphReferences.ReadsOf(node))
                {
                    live.Add(input);
                }
            }
        }
        var kept = graph.Node.Where((_, i) => keep[i]).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(kept);
        var initializers = graph.Initializer.Where(t => live.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        var inputs = graph.Input.Where(v => live.Contains(v.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
    }

    private static NodeProto Node(string opType, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static NodeProto ConstantNode(TensorProto tensor)
    {
        var value = tensor.Clone();
        value.Name = "";
        return Node("Constant", tensor.Name, [], [tensor.Name], OnnxAttr.Tensor("value", value));
    }

    private static ValueInfoProto TensorValue(string name, string batch, long channels)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batch });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = channels });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
