using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Convert;

/// <summary>
/// Writes a diffusers-layout SVD snapshot — <c>unet/</c>, <c>vae/</c> and <c>image_encoder/</c>, each with its
/// <c>config.json</c> and float32 safetensors — from any weight source: what a user downloads from a model hub, and
/// what <see cref="CheckpointConverter"/> reads. The project's own training exports through it. Tensors are produced
/// one at a time while the file is written; the folder appears complete or not at all (staging folder + rename).
/// </summary>
public static class DiffusersSnapshotWriter
{
    /// <summary>The diffusers sub-folders of a snapshot.</summary>
    public static IReadOnlyList<string> Parts { get; } = ["unet", "vae", "image_encoder"];

    /// <summary>
    /// Writes the snapshot of <paramref name="preset"/>'s architecture with values from <paramref name="weights"/> to
    /// <paramref name="root"/>, replacing a previous snapshot there.
    /// </summary>
    /// <exception cref="IOException"><paramref name="root"/> exists and is not an SVD snapshot.</exception>
    public static void Write(string root, ModelPreset preset, IWeightSource weights)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(weights);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any()
            && !File.Exists(Path.Combine(root, "unet", "config.json")))
        {
            throw new IOException($"'{root}' exists and is not a diffusers SVD snapshot; choose an empty or new folder.");
        }
        var build = new SvdBuildOptions(preset, weights, AttentionForm.Plain);
        var byPart = Parts.ToDictionary(p => p, _ => new List<ParameterSpec>(), StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in ModelNames.All)
        {
            foreach (var spec in SvdModelBuilder.ParametersOf(model, build))
            {
                if (seen.Add(spec.Key))
                {
                    byPart[DiffusersCheckpointWeightSource.PartOf(spec.Key)].Add(spec);
                }
            }
        }
        var staging = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + ".staging";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        foreach (var (part, specs) in byPart)
        {
            var folder = Path.Combine(staging, part);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "config.json"),
                ConfigFor(part, preset).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            var stem = part == "image_encoder" ? "model" : "diffusion_pytorch_model";
            WriteSafetensors(Path.Combine(folder, $"{stem}.safetensors"), specs, weights);
        }
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        Directory.Move(staging, root);
    }

    /// <summary>The <c>config.json</c> of one part (<see cref="Parts"/>) for <paramref name="preset"/>, with diffusers' and transformers' field names.</summary>
    public static JsonObject ConfigFor(string part, ModelPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        var a = preset.Architecture;
        static JsonArray Ints(IEnumerable<int> values) => new(values.Select(v => (JsonNode)v).ToArray());
        static JsonArray Names(params IEnumerable<string>[] parts) => new(parts.SelectMany(p => p).Select(n => (JsonNode)n).ToArray());
        static IEnumerable<string> Repeat(string name, int count) => Enumerable.Repeat(name, count);
        return part switch
        {
            "unet" => new JsonObject
            {
                ["_class_name"] = "UNetSpatioTemporalConditionModel",
                ["_diffusers_version"] = "0.24.0",
                ["addition_time_embed_dim"] = a.UNet.AdditionTimeEmbedDim,
                ["block_out_channels"] = Ints(a.UNet.BlockOutChannels),
                ["cross_attention_dim"] = a.UNet.CrossAttentionDim,
                ["down_block_types"] = Names(Repeat("CrossAttnDownBlockSpatioTemporal", a.UNet.BlockOutChannels.Length - 1), ["DownBlockSpatioTemporal"]),
                ["in_channels"] = a.UNet.InChannels,
                ["layers_per_block"] = a.UNet.LayersPerBlock,
                ["num_attention_heads"] = Ints(a.UNet.NumAttentionHeads),
                ["num_frames"] = preset.DefaultFrames,
                ["out_channels"] = a.UNet.OutChannels,
                ["projection_class_embeddings_input_dim"] = a.UNet.ProjectionClassEmbeddingsInputDim,
                ["sample_size"] = preset.DefaultHeight / a.Vae.DownscaleFactor,
                ["transformer_layers_per_block"] = 1,
                ["up_block_types"] = Names(["UpBlockSpatioTemporal"], Repeat("CrossAttnUpBlockSpatioTemporal", a.UNet.BlockOutChannels.Length - 1)),
            },
            "vae" => new JsonObject
            {
                ["_class_name"] = "AutoencoderKLTemporalDecoder",
                ["_diffusers_version"] = "0.24.0",
                ["block_out_channels"] = Ints(a.Vae.BlockOutChannels),
                ["down_block_types"] = Names(Repeat("DownEncoderBlock2D", a.Vae.BlockOutChannels.Length)),
                ["force_upcast"] = true,
                ["in_channels"] = a.Vae.InChannels,
                ["latent_channels"] = a.Vae.LatentChannels,
                ["layers_per_block"] = a.Vae.LayersPerBlock,
                ["out_channels"] = a.Vae.InChannels,
                ["sample_size"] = preset.DefaultHeight,
                ["scaling_factor"] = a.Vae.ScalingFactor,
            },
            "image_encoder" => new JsonObject
            {
                ["architectures"] = new JsonArray("CLIPVisionModelWithProjection"),
                ["attention_dropout"] = 0.0,
                ["dropout"] = 0.0,
                ["hidden_act"] = "gelu",
                ["hidden_size"] = a.ImageEncoder.HiddenSize,
                ["image_size"] = a.ImageEncoder.ImageSize,
                ["initializer_factor"] = 1.0,
                ["initializer_range"] = 0.02,
                ["intermediate_size"] = a.ImageEncoder.IntermediateSize,
                ["layer_norm_eps"] = a.ImageEncoder.LayerNormEps,
                ["model_type"] = "clip_vision_model",
                ["num_attention_heads"] = a.ImageEncoder.NumAttentionHeads,
                ["num_channels"] = 3,
                ["num_hidden_layers"] = a.ImageEncoder.NumHiddenLayers,
                ["patch_size"] = a.ImageEncoder.PatchSize,
                ["projection_dim"] = a.ImageEncoder.ProjectionDim,
                ["torch_dtype"] = "float32",
            },
            _ => throw new ArgumentException($"Unknown snapshot part '{part}'; expected one of {string.Join(", ", Parts)}.", nameof(part)),
        };
    }

    /// <summary>safetensors: 8-byte little-endian header length, the JSON header padded to 8 bytes, then the data.</summary>
    private static void WriteSafetensors(string path, IReadOnlyList<ParameterSpec> specs, IWeightSource weights)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("format", "pt");
            writer.WriteEndObject();
            long offset = 0;
            foreach (var spec in specs)
            {
                writer.WriteStartObject(spec.Key);
                writer.WriteString("dtype", "F32");
                writer.WriteStartArray("shape");
                foreach (var dim in spec.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + spec.ElementCount * sizeof(float));
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += spec.ElementCount * sizeof(float);
            }
            writer.WriteEndObject();
        }
        var header = json.ToArray();
        var padded = (header.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        stream.Write(prefix);
        stream.Write(header);
        stream.Write(Encoding.ASCII.GetBytes(new string(' ', padded - header.Length)));
        foreach (var spec in specs)
        {
            var values = new float[spec.ElementCount];
            if (!weights.TryRead(spec, values))
            {
                throw new InvalidOperationException($"The weight source '{weights.Description}' gives no values; a snapshot needs them.");
            }
            if (!BitConverter.IsLittleEndian)
            {
                throw new PlatformNotSupportedException("safetensors files are little-endian.");
            }
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        }
    }
}
