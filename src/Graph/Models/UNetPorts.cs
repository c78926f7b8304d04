using Onnx;

namespace Vcut.Graph.Models;

/// <summary>The element type of a UNet port.</summary>
public enum PortElementType
{
    /// <summary>32-bit float (the UNets built here).</summary>
    Float32,
    /// <summary>16-bit float (e.g. the TensorRT repository's SVD UNet); the runtime converts at the boundary.</summary>
    Float16,
}

/// <summary>One port of a UNet: its name in the graph and its element type.</summary>
/// <param name="Name">The input or output name.</param>
/// <param name="ElementType">Its element type.</param>
public sealed record UNetPort(string Name, PortElementType ElementType);

/// <summary>
/// The ports of a UNet made elsewhere (<c>vcut convert --unet-onnx</c>), as the manifest records them: the four
/// inputs keep diffusers' names, the output may be named anything (<c>out_sample</c>, or <c>latent</c> in the
/// TensorRT repository's file), and any port may be float16. The runtime binds these names and converts float16
/// at the boundary. A manifest without them has the project's own ports (<see cref="Default"/>).
/// </summary>
/// <param name="Sample">The noisy latent and conditioning latent, (N, F, 2C, h, w).</param>
/// <param name="Timestep">The noise level, (1) or a scalar.</param>
/// <param name="EncoderHiddenStates">The CLIP image embedding, (N, 1, cross).</param>
/// <param name="AddedTimeIds">fps − 1, motion bucket, noise augmentation strength, (N, 3).</param>
/// <param name="Output">The predicted velocity, (N, F, C, h, w).</param>
public sealed record UNetPorts(UNetPort Sample, UNetPort Timestep, UNetPort EncoderHiddenStates, UNetPort AddedTimeIds, UNetPort Output)
{
    /// <summary>The ports of the UNets this project builds: float32, output <c>out_sample</c>.</summary>
    public static UNetPorts Default { get; } = new(
        new("sample", PortElementType.Float32), new("timestep", PortElementType.Float32),
        new("encoder_hidden_states", PortElementType.Float32), new("added_time_ids", PortElementType.Float32),
        new("out_sample", PortElementType.Float32));

    /// <summary>Whether any port is float16 (the runtime then converts at the boundary).</summary>
    public bool AnyFloat16 => new[] { Sample, Timestep, EncoderHiddenStates, AddedTimeIds, Output }.Any(p => p.ElementType == PortElementType.Float16);

    /// <summary>
    /// Reads the ports of <paramref name="unet"/>: exactly the inputs <c>sample</c> (rank 5), <c>timestep</c> (rank 0
    /// or 1), <c>encoder_hidden_states</c> (rank 3) and <c>added_time_ids</c> (rank 2), and one rank-5 output, each
    /// float32 or float16; sizes that are fixed must agree with <paramref name="architecture"/>.
    /// </summary>
    /// <param name="unet">The graph.</param>
    /// <param name="architecture">The UNet configuration it must match.</param>
    /// <param name="source">Its file, for messages.</param>
    /// <exception cref="InvalidDataException">A port missing, extra, of another type or rank, or of a size that disagrees; the message names it.</exception>
    public static UNetPorts Read(ModelProto unet, Architecture.UNetConfig architecture, string source)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(architecture);
        var graph = unet.Graph ?? throw new InvalidDataException($"'{source}' has no graph.");
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        string[] expected = ["sample", "timestep", "encoder_hidden_states", "added_time_ids"];
        var extra = inputs.Select(i => i.Name).Except(expected).ToList();
        if (extra.Count > 0)
        {
            throw new InvalidDataException(
                $"The UNet '{source}' has inputs {string.Join(", ", extra)} besides {string.Join(", ", expected)}; " +
                "expected exactly the inputs of diffusers' UNetSpatioTemporalConditionModel (an already rewritten VCUT UNet cannot be imported).");
        }
        UNetPort Port(ValueInfoProto? value, string name, string kind, int[] ranks, (int Axis, long Size, string What)[] sizes)
        {
            if (value is null)
            {
                throw new InvalidDataException($"The UNet '{source}' has no {kind} '{name}'; its inputs are: {string.Join(", ", inputs.Select(i => i.Name))}.");
            }
            var type = value.Type?.TensorType;
            var element = type?.ElemType switch
            {
                (int)TensorProto.Types.DataType.Float => PortElementType.Float32,
                (int)TensorProto.Types.DataType.Float16 => PortElementType.Float16,
                _ => throw new InvalidDataException(
                    $"The UNet '{source}' {kind} '{value.Name}' has element type {(TensorProto.Types.DataType)(type?.ElemType ?? 0)}; expected float32 or float16."),
            };
            var dims = type.Shape?.Dim;
            if (dims is null || !ranks.Contains(dims.Count))
            {
                throw new InvalidDataException(
                    $"The UNet '{source}' {kind} '{value.Name}' has rank {dims?.Count.ToString() ?? "unknown"}; expected rank {string.Join(" or ", ranks)}.");
            }
            foreach (var (axis, size, what) in sizes)
            {
                if (dims[axis].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[axis].DimValue != size)
                {
                    throw new InvalidDataException(
                        $"The UNet '{source}' {kind} '{value.Name}' has {dims[axis].DimValue} on axis {axis}; the snapshot's {what} is {size}.");
                }
            }
            return new UNetPort(value.Name, element);
        }
        ValueInfoProto? Input(string name) => inputs.FirstOrDefault(i => i.Name == name);
        if (graph.Output.Count != 1)
        {
            throw new InvalidDataException(
                $"The UNet '{source}' has {graph.Output.Count} outputs ({string.Join(", ", graph.Output.Select(o => o.Name))}); expected one, the predicted velocity.");
        }
        return new UNetPorts(
            Port(Input("sample"), "sample", "input", [5], [(2, architecture.InChannels, "in_channels")]),
            Port(Input("timestep"), "timestep", "input", [0, 1], []),
            Port(Input("encoder_hidden_states"), "encoder_hidden_states", "input", [3],
                [(1, 1, "number of CLIP tokens"), (2, architecture.CrossAttentionDim, "cross_attention_dim")]),
            Port(Input("added_time_ids"), "added_time_ids", "input", [2], [(1, 3, "number of added time ids")]),
            Port(graph.Output[0], graph.Output[0].Name, "output", [5], [(2, architecture.OutChannels, "out_channels")]));
    }
}
