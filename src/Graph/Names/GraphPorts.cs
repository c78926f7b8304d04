using Onnx;

namespace Vcut.Graph.Names;

/// <summary>
/// The input and output names of the SVD graphs (docs/svd.md, "Graphs and ports"): the one place the builders,
/// the VCUT rewriter, the cost analyser, the runtime's model contract and the denoising loop take them from.
/// They are diffusers' argument names, so a graph exported from diffusers has the same ports.
/// </summary>
public static class GraphPorts
{
    /// <summary>The image encoder's input: CLIP-normalised pixels (batch, 3, size, size).</summary>
    public const string PixelValues = "pixel_values";
    /// <summary>The image encoder's output: the projected CLIP image embedding (batch, projection).</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>
    /// Pixels in [-1, 1]: the VAE encoder's input (batch, 3, H, W), the UNet's noisy latents in
    /// (batch, frames, 8, h, w), and the VAE decoder's output (frames, 3, H, W).
    /// </summary>
    public const string Sample = "sample";
    /// <summary>Latents: the VAE encoder's output (batch, 4, h, w) and the VAE decoder's input (frames, 4, h, w).</summary>
    public const string LatentSample = "latent_sample";
    /// <summary>The VAE decoder's frame count (an int64 scalar), for its temporal layers.</summary>
    public const string NumFrames = "num_frames";

    /// <summary>The UNet's noise-level input c_noise (a float32 scalar, or of shape (1); see <see cref="TimestepShape"/>).</summary>
    public const string Timestep = "timestep";
    /// <summary>The UNet's cross-attention context, the image embedding as one token (batch, 1, cross); absent from a VCUT UNet.</summary>
    public const string EncoderHiddenStates = "encoder_hidden_states";
    /// <summary>The UNet's micro-conditioning (batch, 3): fps − 1, motion bucket, noise augmentation strength.</summary>
    public const string AddedTimeIds = "added_time_ids";
    /// <summary>The UNet's output: the v-prediction (batch, frames, 4, h, w).</summary>
    public const string OutSample = "out_sample";

    /// <summary>The width of <see cref="AddedTimeIds"/>: fps − 1, motion bucket id, noise augmentation strength.</summary>
    public const int AddedTimeIdCount = 3;

    /// <summary>
    /// Whether a declared <see cref="Timestep"/> rank is accepted: the builders declare shape (1), diffusers' exports
    /// a scalar; both are fed the same single value.
    /// </summary>
    public static bool IsTimestepRank(int rank) => rank is 0 or 1;

    /// <summary>The shape to feed <see cref="Timestep"/> for a declared rank: <c>[]</c> for a scalar, <c>[1]</c> otherwise.</summary>
    public static long[] TimestepShape(int declaredRank) => declaredRank == 0 ? [] : [1];

    /// <summary>
    /// Concrete input shapes of one call of a UNet graph (original or VCUT): <paramref name="rows"/> batch rows,
    /// <paramref name="frames"/> frames, a latent of <paramref name="latentHeight"/> × <paramref name="latentWidth"/>;
    /// channel and context widths are read from the graph's declared sizes, and every other input of rank 2 is taken
    /// as a cached cross-attention constant (rows, C).
    /// </summary>
    /// <exception cref="InvalidDataException">An input the UNet does not have, or a width it does not declare.</exception>
    public static Dictionary<string, long[]> UNetInputShapes(GraphProto graph, long rows, long frames, long latentHeight, long latentWidth)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            var declared = input.Type?.TensorType?.Shape?.Dim.ToList() ?? [];
            long Static(int axis) => declared.Count > axis && declared[axis].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
                ? declared[axis].DimValue
                : throw new InvalidDataException($"The UNet input '{input.Name}' must declare a fixed size on axis {axis}.");
            shapes[input.Name] = input.Name switch
            {
                Sample => [rows, frames, Static(2), latentHeight, latentWidth],
                Timestep => TimestepShape(declared.Count),
                EncoderHiddenStates => [rows, Static(1), Static(2)],
                AddedTimeIds => [rows, AddedTimeIdCount],
                _ when declared.Count == 2 => [rows, Static(1)], // a cached cross-attention constant
                _ => throw new InvalidDataException($"Unexpected UNet input '{input.Name}'."),
            };
        }
        return shapes;
    }
}
