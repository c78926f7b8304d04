using System.Globalization;
using System.Text.RegularExpressions;
using Onnx;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.StepCache;

/// <summary>Where a UNet was split for step-level caching.</summary>
/// <param name="Branch">Resolution levels the shallow graph computes (1 = only the outermost).</param>
/// <param name="Levels">Resolution levels of the UNet (its up blocks).</param>
/// <param name="UpBlock">The up block whose input is cached (<c>up_blocks.{Levels − Branch}</c>).</param>
/// <param name="FeatureValue">The graph value cached between steps: the deep hidden state entering that block.</param>
/// <param name="FullNodes">Nodes of the full graph.</param>
/// <param name="ShallowNodes">Nodes of the shallow graph.</param>
public sealed record StepCacheSplit(int Branch, int Levels, string UpBlock, string FeatureValue, int FullNodes, int ShallowNodes);

/// <summary>The two graphs of step-level caching and where they were cut.</summary>
/// <param name="Full">The UNet unchanged, plus the output <see cref="StepCacheSplitter.FeaturesName"/> (float32 at every precision).</param>
/// <param name="Shallow">
/// The UNet's outer levels only: it takes <see cref="StepCacheSplitter.FeaturesName"/> as an input in place of
/// everything deeper, and keeps the UNet's other inputs and its output.
/// </param>
/// <param name="Split">Where the graphs were cut.</param>
public sealed record StepCacheGraphs(ModelProto Full, ModelProto Shallow, StepCacheSplit Split);

/// <summary>
/// Splits an SVD UNet for step-level caching (DeepCache, arXiv 2312.00858): consecutive denoising steps change the
/// deep, low-resolution features of the UNet little, so a step may reuse the deep hidden state of the last full step
/// and compute only the outer, high-resolution levels. The cut is found by structure, as diffusers' module names mark
/// it in both this project's graphs and <c>torch.onnx.export</c> graphs: the deep state enters up block <c>k</c> as the
/// first input of that block's first <c>Concat</c> (hidden state joined with the skip connection).
/// </summary>
/// <remarks>
/// The split composes with VCUT: split the UNet after the VCUT rewrite, and both graphs take the same cached
/// cross-attention inputs (the shallow graph keeps every input of the UNet, used or not, so a caller binds both the
/// same way). Both graphs keep the UNet's initializers as they are, external data locations included, so graphs split
/// in memory still read the weights from the UNet's data file.
/// </remarks>
public static partial class StepCacheSplitter
{
    /// <summary>The name of the cached deep features, an output of the full graph and an input of the shallow one.</summary>
    public const string FeaturesName = "step_cache_features";

    /// <summary>The name under which a runtime keeps the shallow graph's session beside the UNet's.</summary>
    public const string ShallowModelName = "unet_shallow";

    /// <summary>
    /// Splits <paramref name="unet"/> so that the shallow graph computes the outer <paramref name="branch"/> levels.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="branch"/> is not in 1 … levels − 1.</exception>
    /// <exception cref="InvalidDataException">The graph has no up blocks that can be cut, or already has the features value.</exception>
    public static StepCacheGraphs Split(ModelProto unet, int branch)
    {
        ArgumentNullException.ThrowIfNull(unet);
        var graph = unet.Graph;
        if (graph.Input.Any(i => i.Name == FeaturesName) || graph.Output.Any(o => o.Name == FeaturesName))
        {
            throw new InvalidDataException($"The UNet graph already has a '{FeaturesName}' port: it was split for step caching before.");
        }
        var levels = UpBlockLevels(graph);
        if (levels < 2)
        {
            throw new InvalidDataException(
                "The UNet graph cannot be split for step caching: no nodes are named after diffusers' up blocks " +
                "(\"/up_blocks.N/…\") with at least two levels, so the deep features cannot be found.");
        }
        if (branch < 1 || branch > levels - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(branch), branch,
                $"The step-cache branch must be in 1..{levels - 1} for this UNet ({levels} resolution levels): the number of outer levels a cached step computes.");
        }
        var upBlock = $"up_blocks.{levels - branch}";
        var join = graph.Node.FirstOrDefault(n => n.OpType == "Concat" && InBlock(n, upBlock))
            ?? throw new InvalidDataException($"The UNet graph's '{upBlock}' has no Concat joining its input with a skip connection; it cannot be split for step caching.");
        var feature = join.Input[0];
        var featureType = ElementTypeOf(graph, feature);

        // The ports are float32 at every precision (the caller's buffers are float); a float16 graph casts at the cut.
        var cast = featureType != TensorProto.Types.DataType.Float;
        var full = unet.Clone();
        var output = new NodeProto
        {
            Name = $"/{FeaturesName}/{(cast ? "Cast" : "Identity")}",
            OpType = cast ? "Cast" : "Identity",
            Input = { feature },
            Output = { FeaturesName },
        };
        if (cast)
        {
            output.Attribute.Add(OnnxAttr.Int("to", (long)TensorProto.Types.DataType.Float));
        }
        full.Graph.Node.Add(output);
        full.Graph.Output.Add(Port(FeaturesName, TensorProto.Types.DataType.Float));

        var shallow = unet.Clone();
        Prune(shallow.Graph, feature);
        var featureInGraph = cast ? $"{FeaturesName}_cast" : FeaturesName;
        foreach (var node in shallow.Graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == feature)
                {
                    node.Input[i] = featureInGraph;
                }
            }
        }
        if (cast)
        {
            shallow.Graph.Node.Insert(0, new NodeProto
            {
                Name = $"/{FeaturesName}/Cast",
                OpType = "Cast",
                Input = { FeaturesName },
                Output = { featureInGraph },
                Attribute = { OnnxAttr.Int("to", (long)featureType) },
            });
        }
        shallow.Graph.Input.Add(Port(FeaturesName, TensorProto.Types.DataType.Float));
        shallow.Graph.Name = $"{graph.Name} (step-cache shallow, {upBlock} onwards)";
        return new StepCacheGraphs(full, shallow,
            new StepCacheSplit(branch, levels, upBlock, feature, full.Graph.Node.Count, shallow.Graph.Node.Count));
    }

    /// <summary>The up-block levels a UNet graph has, from its node names.</summary>
    public static int UpBlockLevels(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var levels = graph.Node
            .Select(n => UpBlockName().Match(n.Name))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .DefaultIfEmpty(-1)
            .Max();
        return levels + 1;
    }

    private static bool InBlock(NodeProto node, string block) =>
        node.Name.StartsWith($"{block}/", StringComparison.Ordinal) || node.Name.Contains($"/{block}/", StringComparison.Ordinal);

    /// <summary>Keeps only what the outputs need once <paramref name="cut"/> becomes an input.</summary>
    private static void Prune(GraphProto graph, string cut)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }
        }
        var needed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<string>(graph.Output.Select(o => o.Name));
        var seen = new HashSet<string>(StringComparer.Ordinal) { cut };
        while (pending.TryPop(out var value))
        {
            if (!seen.Add(value) || !producers.TryGetValue(value, out var producer) || !needed.Add(producer))
            {
                continue;
            }
            foreach (var input in producer.Input.Where(i => i.Length > 0))
            {
                pending.Push(input);
            }
            // Subgraphs (If/Loop bodies) may read outer values by name.
            foreach (var inner in producer.Attribute.Where(a => a.G is not null).SelectMany(a => a.G.Node).SelectMany(n => n.Input))
            {
                pending.Push(inner);
            }
        }
        var kept = graph.Node.Where(needed.Contains).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(kept);
        var used = new HashSet<string>(kept.SelectMany(n => n.Input), StringComparer.Ordinal);
        var initializers = graph.Initializer.Where(i => used.Contains(i.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        var produced = new HashSet<string>(kept.SelectMany(n => n.Output), StringComparer.Ordinal);
        var infos = graph.ValueInfo.Where(v => produced.Contains(v.Name)).ToList();
        graph.ValueInfo.Clear();
        graph.ValueInfo.AddRange(infos);
    }

    /// <summary>
    /// The element type of a value: from the graph's value infos, else from the weight of the first Conv, MatMul or
    /// Gemm it feeds (the features are activations of the graph's compute precision).
    /// </summary>
    private static TensorProto.Types.DataType ElementTypeOf(GraphProto graph, string value)
    {
        if (graph.ValueInfo.FirstOrDefault(v => v.Name == value) is { Type.TensorType: { } known })
        {
            return (TensorProto.Types.DataType)known.ElemType;
        }
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var consumers = graph.Node.SelectMany(n => n.Input.Select(i => (Input: i, Node: n))).ToLookup(p => p.Input, p => p.Node, StringComparer.Ordinal);
        var frontier = new Queue<string>([value]);
        var visited = new HashSet<string>(StringComparer.Ordinal);
        while (frontier.TryDequeue(out var current))
        {
            if (!visited.Add(current))
            {
                continue;
            }
            foreach (var node in consumers[current])
            {
                if (node.OpType is "Conv" or "MatMul" or "Gemm" && node.Input.Count > 1 && initializers.TryGetValue(node.Input[1], out var weight))
                {
                    return (TensorProto.Types.DataType)weight.DataType;
                }
                foreach (var output in node.Output)
                {
                    frontier.Enqueue(output);
                }
            }
        }
        return TensorProto.Types.DataType.Float;
    }

    private static ValueInfoProto Port(string name, TensorProto.Types.DataType type) => new()
    {
        Name = name,
        Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } },
    };

    [GeneratedRegex(@"(?:^|/)up_blocks\.(\d+)/")]
    private static partial Regex UpBlockName();
}
