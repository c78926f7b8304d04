using Onnx;

namespace Vcut.Graph.Vcut;

/// <summary>
/// The values a node reads: its inputs plus the outer-scope values its subgraphs (Loop, If, Scan bodies) use. A
/// PyTorch export of <c>repeat_interleave</c> by a dynamic count is a Loop whose body reads the repeated tensor from
/// the outer scope, so data dependencies, consumers and liveness must look inside.
/// </summary>
internal static class SubgraphReferences
{
    public static IEnumerable<string> ReadsOf(NodeProto node)
    {
        foreach (var input in node.Input)
        {
            if (input.Length > 0)
            {
                yield return input;
            }
        }
        foreach (var attribute in node.Attribute)
        {
            foreach (var graph in attribute.G is { } g ? [g, .. attribute.Graphs] : attribute.Graphs.ToArray())
            {
                foreach (var name in OuterReads(graph))
                {
                    yield return name;
                }
            }
        }
    }

    private static HashSet<string> OuterReads(GraphProto graph)
    {
        var defined = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)), StringComparer.Ordinal);
        var reads = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var read in ReadsOf(node))
            {
                if (!defined.Contains(read))
                {
                    reads.Add(read);
                }
            }
            defined.UnionWith(node.Output);
        }
        foreach (var output in graph.Output.Where(o => !defined.Contains(o.Name)))
        {
            reads.Add(output.Name);
        }
        return reads;
    }
}
