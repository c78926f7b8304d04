using System.Globalization;
using System.Text.Json;
using Vcut.Graph.Architecture;
using Vcut.Graph.Files;

namespace Vcut.Graph.Convert;

/// <summary>
/// Reads the <c>config.json</c> of each part of a diffusers SVD snapshot into the builder's architecture records.
/// A missing field takes the default of the diffusers / transformers class, as <c>from_pretrained</c> does; a
/// field the builder cannot honour (another block type, more than one transformer layer, another activation) is
/// refused with the file and field named.
/// </summary>
internal static class DiffusersConfig
{
    /// <summary>The UNet's diffusers class.</summary>
    public const string UNetClass = "UNetSpatioTemporalConditionModel";

    /// <summary>The VAE's diffusers class.</summary>
    public const string VaeClass = "AutoencoderKLTemporalDecoder";

    /// <summary>Config files larger than this are refused unread (SVD's are about 2 kB).</summary>
    public const long MaxFileBytes = 1L << 20;

    // Ranges far beyond any SVD (widths 1280, 32 layers, 25 frames), so a config cannot make the builder allocate without bound.
    private const int MaxWidth = 1 << 16;
    private const int MaxChannels = 1024;
    private const int MaxHeads = 1024;
    private const int MaxLayers = 1024;
    private const int MaxFrames = 4096;
    private const int MaxSampleSize = 4096;

    /// <summary>Reads <c>unet/config.json</c>: the UNet's configuration and its <c>num_frames</c> (the frames it was trained for).</summary>
    /// <exception cref="InvalidDataException">The file is unreadable, of another class, or describes a UNet the builder cannot build.</exception>
    public static (UNetConfig Config, int NumFrames, int? SampleSize) ReadUNet(string path)
    {
        var json = Load(path);
        var reader = new Reader(path, json);
        reader.RequireClass(UNetClass);
        var blocks = reader.IntArray("block_out_channels", [320, 640, 1280, 1280], 1, MaxWidth);
        var levels = blocks.Length;
        if (levels is < 2 or > UNetConfig.MaxLevels)
        {
            throw reader.Error("block_out_channels", $"has {levels} levels; expected 2 to {UNetConfig.MaxLevels} (SVD has 4)");
        }
        reader.RequireBlockTypes("down_block_types",
            [.. Enumerable.Repeat("CrossAttnDownBlockSpatioTemporal", levels - 1), "DownBlockSpatioTemporal"]);
        reader.RequireBlockTypes("up_block_types",
            ["UpBlockSpatioTemporal", .. Enumerable.Repeat("CrossAttnUpBlockSpatioTemporal", levels - 1)]);
        var heads = reader.IntOrPerLevel("num_attention_heads", levels, [5, 10, 20, 20], 1, MaxHeads);
        var layers = reader.Uniform("layers_per_block", levels, 2, 1, MaxLayers);
        var cross = reader.Uniform("cross_attention_dim", levels, 1024, 1, MaxWidth);
        var transformerLayers = reader.Uniform("transformer_layers_per_block", levels, 1, 1, MaxLayers);
        if (transformerLayers != 1)
        {
            throw reader.Error("transformer_layers_per_block", $"is {transformerLayers}; only 1 (as in SVD) is supported");
        }
        var addition = reader.Int("addition_time_embed_dim", 256, 1, MaxWidth);
        var projection = reader.Int("projection_class_embeddings_input_dim", 768, 1, 3 * MaxWidth);
        if (projection != 3 * addition)
        {
            throw reader.Error("projection_class_embeddings_input_dim",
                $"is {projection}; SVD embeds three added time ids, so it must be 3 × addition_time_embed_dim = {3 * addition}");
        }
        var config = new UNetConfig(reader.Int("in_channels", 8, 1, MaxChannels), reader.Int("out_channels", 4, 1, MaxChannels),
            blocks, heads, layers, cross, addition);
        reader.Validate(config.Validate);
        // The latent side the UNet was trained at (one number for a square, or a pair); optional.
        int? sampleSize = null;
        if (json.TryGetProperty("sample_size", out var sample) && sample.ValueKind == JsonValueKind.Array)
        {
            reader.IntArray("sample_size", [], 1, MaxSampleSize); // checked; a pair keeps SVD's default size
        }
        else if (reader.Int("sample_size", 0, 1, MaxSampleSize) is var side and > 0)
        {
            sampleSize = side;
        }
        return (config, reader.Int("num_frames", 25, 1, MaxFrames), sampleSize);
    }

    /// <summary>Reads <c>vae/config.json</c>.</summary>
    /// <exception cref="InvalidDataException">The file is unreadable, of another class, or describes a VAE the builder cannot build.</exception>
    public static VaeConfig ReadVae(string path)
    {
        var json = Load(path);
        var reader = new Reader(path, json);
        reader.RequireClass(VaeClass);
        var blocks = reader.IntArray("block_out_channels", [64], 1, MaxWidth);
        if (blocks.Length is < 1 or > UNetConfig.MaxLevels)
        {
            throw reader.Error("block_out_channels", $"has {blocks.Length} levels; expected 1 to {UNetConfig.MaxLevels} (SVD has 4)");
        }
        reader.RequireBlockTypes("down_block_types", [.. Enumerable.Repeat("DownEncoderBlock2D", blocks.Length)]);
        var inChannels = reader.Int("in_channels", 3, 1, MaxChannels);
        var outChannels = reader.Int("out_channels", 3, 1, MaxChannels);
        if (inChannels != outChannels)
        {
            throw reader.Error("out_channels", $"is {outChannels} but in_channels is {inChannels}; the builder needs them equal");
        }
        var config = new VaeConfig(inChannels, reader.Int("latent_channels", 4, 1, MaxChannels), blocks, reader.Int("layers_per_block", 1, 1, MaxLayers),
            reader.PositiveFloat("scaling_factor", 0.18215f));
        reader.Validate(config.Validate);
        return config;
    }

    /// <summary>
    /// Reads <c>image_encoder/config.json</c> (transformers' <c>CLIPVisionConfig</c>; a full <c>CLIPConfig</c>'s
    /// <c>vision_config</c> also works).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is unreadable or describes an encoder the builder cannot build.</exception>
    public static ClipVisionConfig ReadImageEncoder(string path)
    {
        var json = Load(path);
        if (json.TryGetProperty("vision_config", out var nested) && nested.ValueKind == JsonValueKind.Object)
        {
            json = nested;
        }
        var reader = new Reader(path, json);
        var activation = reader.String("hidden_act", "quick_gelu");
        if (activation != "gelu")
        {
            throw reader.Error("hidden_act", $"is '{activation}'; the builder writes the exact (erf) GELU of SVD's encoder, 'gelu'");
        }
        var channels = reader.Int("num_channels", 3, 1, MaxChannels);
        if (channels != 3)
        {
            throw reader.Error("num_channels", $"is {channels}; the encoder takes RGB images");
        }
        var config = new ClipVisionConfig(reader.Int("hidden_size", 768, 1, MaxWidth), reader.Int("num_hidden_layers", 12, 1, MaxLayers),
            reader.Int("num_attention_heads", 12, 1, MaxHeads), reader.Int("intermediate_size", 3072, 1, 4 * MaxWidth),
            reader.Int("image_size", 224, 1, MaxSampleSize), reader.Int("patch_size", 32, 1, MaxSampleSize),
            reader.Int("projection_dim", 512, 1, MaxWidth), reader.PositiveFloat("layer_norm_eps", 1e-5f));
        reader.Validate(config.Validate);
        return config;
    }

    private static JsonElement Load(string path)
    {
        if (InputFiles.KindOf(path) == FileKind.Missing)
        {
            throw new InvalidDataException($"'{path}' does not exist; a diffusers snapshot has a config.json in each model folder.");
        }
        var text = InputFiles.ReadAllText(path, MaxFileBytes, "Config");
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"'{path}' is not a JSON object.");
            }
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    private sealed class Reader(string path, JsonElement json)
    {
        public InvalidDataException Error(string field, string what) => new($"'{path}': {field} {what}.");

        public void RequireClass(string expected)
        {
            if (json.TryGetProperty("_class_name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() != expected)
            {
                throw Error("_class_name", $"is '{name.GetString()}', expected '{expected}'");
            }
        }

        public void Validate(Action validate)
        {
            try
            {
                validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"'{path}': {e.Message}", e);
            }
        }

        /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; absent or null: <paramref name="fallback"/>.</summary>
        public int Int(string field, int fallback, int min, int max)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return fallback;
            }
            return Checked(field, value, min, max, "is");
        }

        private int Checked(string field, JsonElement value, int min, int max, string verb)
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            {
                throw Error(field, $"{verb} {Shown(value)}, expected an integer from {min} to {max}");
            }
            return number >= min && number <= max
                ? (int)number
                : throw Error(field, $"{verb} {number}, expected an integer from {min} to {max}");
        }

        /// <summary>A positive finite number that stays finite as a float; absent or null: <paramref name="fallback"/>.</summary>
        public float PositiveFloat(string field, float fallback)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return fallback;
            }
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            {
                throw Error(field, $"is {Shown(value)}, expected a positive finite number");
            }
            var single = (float)number;
            return float.IsFinite(single) && single > 0
                ? single
                : throw Error(field, $"is {value.GetRawText()}, expected a positive number that a float32 can hold (up to {float.MaxValue:G3})");
        }

        // A value as the file has it, cut short when long.
        private static string Shown(JsonElement value)
        {
            var text = value.GetRawText();
            return text.Length > 60 ? text[..60] + "…" : text;
        }

        public string String(string field, string fallback)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return fallback;
            }
            return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Error(field, $"is {Shown(value)}, expected a string");
        }

        /// <summary>A list of at most <see cref="UNetConfig.MaxLevels"/> integers, each in [<paramref name="min"/>, <paramref name="max"/>].</summary>
        public int[] IntArray(string field, int[] fallback, int min, int max)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return fallback;
            }
            if (value.ValueKind != JsonValueKind.Array)
            {
                throw Error(field, $"is {Shown(value)}, expected a list of integers from {min} to {max}");
            }
            if (value.GetArrayLength() > UNetConfig.MaxLevels)
            {
                throw Error(field, $"has {value.GetArrayLength()} entries, expected at most {UNetConfig.MaxLevels} (one per level)");
            }
            return value.EnumerateArray().Select(v => Checked(field, v, min, max, "holds")).ToArray();
        }

        /// <summary>An integer applying to every level, or one per level.</summary>
        public int[] IntOrPerLevel(string field, int levels, int[] fallback, int min, int max)
        {
            if (json.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number)
            {
                return Enumerable.Repeat(Int(field, 0, min, max), levels).ToArray();
            }
            var values = IntArray(field, fallback, min, max);
            return values.Length == levels
                ? values
                : throw Error(field, $"has {values.Length} entries for {levels} levels (block_out_channels)");
        }

        /// <summary>An integer, or a per-level list whose entries are all equal (what the builder supports).</summary>
        public int Uniform(string field, int levels, int fallback, int min, int max)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.Array)
            {
                return Int(field, fallback, min, max);
            }
            var values = IntOrPerLevel(field, levels, [], min, max);
            return values.Distinct().Count() == 1
                ? values[0]
                : throw Error(field, $"differs between levels ({string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}); the builder needs one value");
        }

        public void RequireBlockTypes(string field, string[] expected)
        {
            if (!json.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return;
            }
            var actual = value.ValueKind == JsonValueKind.Array
                ? value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToArray()
                : [value.GetRawText()];
            if (!actual.SequenceEqual(expected))
            {
                throw Error(field, $"is [{string.Join(", ", actual)}]; the builder writes SVD's [{string.Join(", ", expected)}]");
            }
        }
    }
}
