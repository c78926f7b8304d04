using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.Builders;

/// <summary>
/// Emits transformers' <c>CLIPVisionModelWithProjection</c> (docs/svd.md §5): <c>pixel_values</c> (B, 3, 224, 224),
/// CLIP-normalised → <c>image_embeds</c> (B, projection_dim), not L2-normalised.
/// </summary>
internal static class ImageEncoderGraphBuilder
{
    /// <summary>
    /// Builds the image-encoder graph (keys <c>vision_model.*</c> and <c>visual_projection</c>), parameters stored as
    /// <paramref name="storage"/> says.
    /// </summary>
    public static ModelProto Build(ClipVisionConfig config, Weights.IWeightSource weights, AttentionForm attention,
        ParameterStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var g = new OnnxGraphBuilder("image_encoder", weights, storage);
        var nn = new NnLayers(g, attention);
        var f32 = TensorProto.Types.DataType.Float;
        var hidden = config.HiddenSize;
        var pixels = g.Input(GraphPorts.PixelValues, f32, "batch", 3, config.ImageSize, config.ImageSize);
        OnnxValue pooled;
        using (g.Enter("vision_model"))
        {
            OnnxValue tokens;
            using (g.Enter("embeddings"))
            {
                var patches = nn.Conv(pixels, "patch_embedding", 3, hidden, [config.PatchSize, config.PatchSize], [0, 0],
                    stride: config.PatchSize, bias: false);
                patches = nn.Transpose(nn.Reshape(patches, g.Int64s(0, hidden, -1)), 0, 2, 1); // (B, patches, hidden)
                var classEmbedding = g.Parameter("class_embedding", Weights.ParameterRole.Embedding, [hidden]);
                var classToken = g.Op("Expand", [
                    nn.Reshape(classEmbedding, g.Int64s(1, 1, hidden)),
                    nn.ShapeConcat(nn.ShapeOf(pixels, 0, 1), g.Int64s(1, hidden))]);
                tokens = g.Op("Concat", [classToken, patches], OnnxAttr.Int("axis", 1));
                var positions = g.Parameter("position_embedding.weight", Weights.ParameterRole.Embedding, [config.NumPositions, hidden]);
                tokens = nn.Add(tokens, positions);
            }
            tokens = nn.LayerNorm(tokens, "pre_layrnorm", hidden, config.LayerNormEps);
            for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                tokens = nn.In($"encoder.layers.{layer}", () =>
                {
                    var normalized = nn.LayerNorm(tokens, "layer_norm1", hidden, config.LayerNormEps);
                    var attended = nn.In("self_attn", () =>
                        nn.Attention(normalized, normalized, hidden, hidden, config.NumAttentionHeads, AttentionNames.Clip, qkvBias: true));
                    var x = nn.Add(tokens, attended);
                    var mlpIn = nn.LayerNorm(x, "layer_norm2", hidden, config.LayerNormEps);
                    var mlp = nn.In("mlp", () =>
                        nn.Linear(nn.Gelu(nn.Linear(mlpIn, "fc1", hidden, config.IntermediateSize)), "fc2", config.IntermediateSize, hidden));
                    return nn.Add(x, mlp);
                });
            }
            var classOutput = g.Op("Gather", [tokens, g.Int64Scalar(0)], OnnxAttr.Int("axis", 1)); // (B, hidden)
            pooled = nn.LayerNorm(classOutput, "post_layernorm", hidden, config.LayerNormEps);
        }
        var embeds = nn.Linear(pooled, "visual_projection", hidden, config.ProjectionDim, bias: false);
        g.Output(embeds, GraphPorts.ImageEmbeds, f32, "batch", config.ProjectionDim);
        return g.ToModel(17, "CLIP ViT vision tower with projection (CLIPVisionModelWithProjection), built by Vcut.MLNet");
    }
}
