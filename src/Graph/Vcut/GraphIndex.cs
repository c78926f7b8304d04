using Onnx;

namespace Vcut.Graph.Vcut;

/// <summary>Producers, consumers and constant-ness of the values of one graph.</summary>
internal sealed class GraphIndex
{
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _constants = new(StringComparer.Ordinal);

    public GraphIndex(GraphProto graph)
    {
        Graph = graph;
        Initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var name in Initializers.Keys)
        {
            _constants.Add(name);
        }
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                _producers[output] = node;
            }
            foreach (var input in SubgraphReferences.ReadsOf(node).Distinct())
            {
                if (!_consumers.TryGetValue(input, out var list))
                {
                    _consumers[input] = list = [];
                }
                list.Add(node);
            }
            if (SubgraphReferences.ReadsOf(node).All(_constants.Contains) && node.OpType != "Shape")
            {
                foreach (var output in node.Output)
                {
                    _constants.Add(output);
                }
            }
        }
    }

    public GraphProto Graph { get; }

    public Dictionary<string, TensorProto> Initializers { get; }

    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var list) ? list : [];

    /// <summary>Whether the value is fixed at build time (an initializer or computed from initializers and constants only).</summary>
    public bool IsConstant(string value) => _constants.Contains(value);

    /// <summary>
    /// The graph inputs each value's data depends on (transitively). Shape carries only sizes, so a value computed
    /// from the context with a shape taken from the sample (an Expand over frames) still depends on the context alone.
    /// </summary>
    public Dictionary<string, HashSet<string>> InputDependencies()
    {
        var dependencies = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var input in Graph.Input)
        {
            dependencies[input.Name] = [input.Name];
        }
        foreach (var node in Graph.Node)
        {
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var input in node.OpType == "Shape" ? [] : SubgraphReferences.ReadsOf(node))
            {
                if (dependencies.TryGetValue(input, out var inner))
                {
                    set.UnionWith(inner);
                }
            }
            foreach (var output in node.Output)
            {
                dependencies[output] = set;
            }
        }
        return dependencies;
    }
}
