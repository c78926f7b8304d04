using System.Text.Json;
using System.Text.Json.Nodes;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>How a test snapshot is written.</summary>
internal sealed record SnapshotOptions
{
    /// <summary>The dtype every tensor is stored in.</summary>
    public string DType { get; init; } = "F32";

    /// <summary>Name the files <c>*.fp16.safetensors</c> (the diffusers fp16 variant).</summary>
    public bool Fp16FileNames { get; init; }

    /// <summary>Write the VAE attention under the older names query/key/value/proj_attn.</summary>
    public bool OldVaeAttentionNames { get; init; }

    /// <summary>Write the VAE attention weights as (C, C, 1, 1).</summary>
    public bool ConvShapedVaeAttention { get; init; }

    /// <summary>Lets a test change one part's tensor list (drop, reshape, retype) before it is written.</summary>
    public Func<string, List<SafetensorsEntry>, List<SafetensorsEntry>>? EditTensors { get; init; }

    /// <summary>Lets a test edit one part's JSON header text (make it lie).</summary>
    public Func<string, string, string>? EditHeader { get; init; }

    /// <summary>Lets a test edit one part's config.json (part, object).</summary>
    public Action<string, JsonObject>? EditConfig { get; init; }

    /// <summary>Extra tensors per part that no graph reads (as real checkpoints hold buffers).</summary>
    public bool WithUnusedBuffer { get; init; }
}

/// <summary>
/// Writes a diffusers-layout SVD snapshot (unet/, vae/, image_encoder/ with config.json and safetensors) for an
/// architecture, with values from a weight source: what a user downloads, produced by the tests themselves.
/// Values are produced one tensor at a time while writing, so a full-size snapshot streams too.
/// </summary>
internal static class DiffusersSnapshotWriter
{
    public static void Write(string root, ModelPreset preset, IWeightSource weights, SnapshotOptions? options = null)
    {
        options ??= new SnapshotOptions();
        var build = new SvdBuildOptions(preset, weights, AttentionForm.Plain);
        var byPart = new Dictionary<string, List<ParameterSpec>>
        {
            ["unet"] = [], ["vae"] = [], ["image_encoder"] = [],
        };
        foreach (var model in ModelNames.All)
        {
            foreach (var spec in SvdModelBuilder.ParametersOf(model, build))
            {
                byPart[DiffusersCheckpointWeightSource.PartOf(spec.Key)].Add(spec);
            }
        }
        foreach (var (part, specs) in byPart)
        {
            var folder = Path.Combine(root, part);
            Directory.CreateDirectory(folder);
            var config = ConfigFor(part, preset);
            options.EditConfig?.Invoke(part, config);
            File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            var entries = specs.Select(spec => Entry(spec, weights, options)).ToList();
            if (options.WithUnusedBuffer && part == "image_encoder")
            {
                // transformers checkpoints may carry the position_ids buffer (int64): read by no graph.
                var ids = Enumerable.Range(0, preset.Architecture.ImageEncoder.NumPositions).Select(i => (long)i).ToArray();
                entries.Add(SafetensorsEntry.Raw("vision_model.embeddings.position_ids", "I64", [1, ids.Length],
                    System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()).ToArray()));
            }
            if (options.EditTensors is not null)
            {
                entries = options.EditTensors(part, entries);
            }
            var stem = part == "image_encoder" ? "model" : "diffusion_pytorch_model";
            var file = Path.Combine(folder, options.Fp16FileNames ? $"{stem}.fp16.safetensors" : $"{stem}.safetensors");
            SafetensorsTestWriter.Write(file, entries, new Dictionary<string, string> { ["format"] = "pt" },
                options.EditHeader is null ? null : header => options.EditHeader(part, header));
        }
    }

    /// <summary>The file a part's weights were written to.</summary>
    public static string WeightFile(string root, string part, bool fp16Names = false)
    {
        var stem = part == "image_encoder" ? "model" : "diffusion_pytorch_model";
        return Path.Combine(root, part, fp16Names ? $"{stem}.fp16.safetensors" : $"{stem}.safetensors");
    }

    private static SafetensorsEntry Entry(ParameterSpec spec, IWeightSource weights, SnapshotOptions options)
    {
        var name = spec.Key;
        var shape = spec.Shape;
        var attention = System.Text.RegularExpressions.Regex.Match(name,
            @"^(?<p>(?:encoder|decoder)\.mid_block\.attentions\.\d+)\.(?<j>to_q|to_k|to_v|to_out\.0)\.(?<k>weight|bias)$");
        if (attention.Success)
        {
            if (options.OldVaeAttentionNames)
            {
                var old = attention.Groups["j"].Value switch { "to_q" => "query", "to_k" => "key", "to_v" => "value", _ => "proj_attn" };
                name = $"{attention.Groups["p"].Value}.{old}.{attention.Groups["k"].Value}";
            }
            if (options.ConvShapedVaeAttention && shape.Length == 2)
            {
                shape = [shape[0], shape[1], 1, 1];
            }
        }
        var dtype = options.DType;
        var bytes = checked(spec.ElementCount * (dtype == "F32" ? 4 : 2));
        // Values are drawn when the file is written, one tensor at a time.
        return new SafetensorsEntry(name, dtype, shape, bytes, stream =>
        {
            var values = new float[spec.ElementCount];
            if (!weights.TryRead(spec, values))
            {
                throw new InvalidOperationException("A snapshot needs a weight source with values.");
            }
            stream.Write(SafetensorsEntry.Encode(values, dtype));
        });
    }

    /// <summary>The library's config.json for a part: what the project's own exporter writes, and what tests then edit.</summary>
    internal static JsonObject ConfigFor(string part, ModelPreset preset) =>
        Vcut.Graph.Convert.DiffusersSnapshotWriter.ConfigFor(part, preset);
}

/// <summary>Another source's values after a round trip through a safetensors dtype: what the converter reads back.</summary>
internal sealed class RoundedWeightSource(IWeightSource inner, string dtype) : IWeightSource
{
    public string Description => $"{inner.Description} as {dtype}";

    public float[]? Get(ParameterSpec parameter)
    {
        var values = inner.Get(parameter);
        if (values is null)
        {
            return null;
        }
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = SafetensorsEntry.RoundTrip(values[i], dtype);
        }
        return values;
    }
}
