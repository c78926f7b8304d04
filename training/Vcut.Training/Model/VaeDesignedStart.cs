using Vcut.Graph.Architecture;
using static TorchSharp.torch;

namespace Vcut.Training.Model;

/// <summary>
/// Starts SVD's VAE as a working codec instead of at random: the encoder averages each colour over the downscale
/// block into latent channels 0–2 and the decoder resizes them back (bilinearly, by three 2× steps), so the first
/// training step already reconstructs a blurred picture with its true colours, and training only has to add detail.
/// </summary>
/// <remarks>
/// Why it is needed: a randomly started VAE of these widths learns the colours of a picture very slowly on this
/// machine's budget (15 dB after 1,000 steps, washed-out colours), because every colour has to pass the last
/// GroupNorm of the encoder and of the decoder, which removes each group's mean and scale per picture. The designed
/// path passes GroupNorm exactly: each colour c travels in a group of four channels (c, −c, K, −K). The group's
/// mean is then zero for every picture and its standard deviation √((K² + mean c²)/2) is K/√2 to within 1.5 % for
/// K = 4 and c in [−1, 1], so the normalised channel is c up to a known scale; SiLU(c) − SiLU(−c) = c undoes the
/// activation exactly. That needs four channels a group at both ends (widths of 128 with GroupNorm's 32 groups).
/// Every residual branch (resnets, attention, temporal blocks) starts at zero, so each block starts as the identity;
/// channels outside the 12 designed ones keep torch's random start, so the network has room to learn and gradients
/// reach every weight after the first step.
/// </remarks>
public static class VaeDesignedStart
{
    /// <summary>The constant that dominates each designed group's spread (see the remarks).</summary>
    public const float GroupConstant = 4f;

    /// <summary>Colours carried by the designed path, each in four channels.</summary>
    private const int Colours = 3;

    private const int DesignedChannels = 4 * Colours;

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="vae"/> cannot carry the designed path.</summary>
    public static void Validate(VaeConfig vae)
    {
        ArgumentNullException.ThrowIfNull(vae);
        var perGroupFirst = vae.BlockOutChannels[0] / UNetConfig.NormGroups;
        var perGroupLast = vae.BlockOutChannels[^1] / UNetConfig.NormGroups;
        if (vae.InChannels != Colours || vae.LatentChannels < Colours || perGroupFirst < 4 || perGroupLast < 4
            || vae.BlockOutChannels.Any(w => w < DesignedChannels))
        {
            throw new ArgumentException(
                $"A designed VAE start needs 3 input channels, at least 3 latent channels and GroupNorm groups of at least four channels " +
                $"where the encoder and the decoder end (block_out_channels first and last ≥ {4 * UNetConfig.NormGroups}); got in_channels " +
                $"{vae.InChannels}, latent_channels {vae.LatentChannels}, block_out_channels [{string.Join(", ", vae.BlockOutChannels)}].");
        }
    }

    /// <summary>Overwrites the VAE's start in <paramref name="parameters"/> with the designed codec.</summary>
    public static void Apply(SvdParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var vae = parameters.Preset.Architecture.Vae;
        Validate(vae);
        using var _ = no_grad();
        var keys = parameters.Specs.Keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal)
            || k.StartsWith("decoder.", StringComparison.Ordinal) || k.StartsWith("quant_conv.", StringComparison.Ordinal)).ToList();

        // Every residual branch starts at zero: resnets' second convolution and the attentions' output projection.
        foreach (var key in keys.Where(k => k.Contains(".conv2.", StringComparison.Ordinal) || k.Contains(".to_out.0.", StringComparison.Ordinal)))
        {
            parameters[key].zero_();
        }

        // Encoder: colours into their groups, averaged over each 2×2 step, through GroupNorm and SiLU into latents 0–2.
        SetRows(parameters, "encoder.conv_in.weight", (w, r) => w.Set(Sign(r), r, r / 4, 1, 1));
        SetConstantBias(parameters, "encoder.conv_in.bias");
        foreach (var key in keys.Where(k => k.EndsWith("downsamplers.0.conv.weight", StringComparison.Ordinal)))
        {
            // Stride 2 over input padded on the right and bottom only: taps (0, 0) … (1, 1) are the 2×2 block.
            SetRows(parameters, key, (w, r) =>
            {
                foreach (var (y, x) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                {
                    w.Set(0.25f, r, r, y, x);
                }
            });
            SetRows(parameters, key.Replace(".weight", ".bias", StringComparison.Ordinal), null);
        }
        foreach (var key in keys.Where(k => k.EndsWith("conv_shortcut.weight", StringComparison.Ordinal)))
        {
            SetRows(parameters, key, (w, r) => w.Set(1f, r, r, 0, 0));
            SetRows(parameters, key.Replace(".weight", ".bias", StringComparison.Ordinal), null);
        }
        SetNormOut(parameters, "encoder.conv_norm_out");
        SetRows(parameters, "encoder.conv_out.weight", (w, r) => DecodeColour(w, r), rows: Colours);
        SetRows(parameters, "encoder.conv_out.bias", null, rows: Colours);
        SetRows(parameters, "quant_conv.weight", (w, r) => w.Set(1f, r, r, 0, 0), rows: Colours);
        SetRows(parameters, "quant_conv.bias", null, rows: Colours);

        // Decoder: latents 0–2 into their groups, resized 2× with a [1 2 1]² filter after each nearest-neighbour
        // doubling (bilinear interpolation; the constants keep the centre tap only), then out through GroupNorm.
        SetRows(parameters, "decoder.conv_in.weight", (w, r) => w.Set(Sign(r), r, r / 4, 1, 1));
        SetConstantBias(parameters, "decoder.conv_in.bias");
        foreach (var key in keys.Where(k => k.EndsWith("upsamplers.0.conv.weight", StringComparison.Ordinal)))
        {
            SetRows(parameters, key, (w, r) =>
            {
                if (r % 4 >= 2)
                {
                    w.Set(1f, r, r, 1, 1);
                    return;
                }
                for (var y = 0; y < 3; y++)
                {
                    for (var x = 0; x < 3; x++)
                    {
                        w.Set((y == 1 ? 2f : 1f) * (x == 1 ? 2f : 1f) / 16f, r, r, y, x);
                    }
                }
            });
            SetRows(parameters, key.Replace(".weight", ".bias", StringComparison.Ordinal), null);
        }
        SetNormOut(parameters, "decoder.conv_norm_out");
        SetRows(parameters, "decoder.conv_out.weight", (w, r) => DecodeColour(w, r), rows: Colours);
        SetRows(parameters, "decoder.conv_out.bias", null, rows: Colours);
    }

    /// <summary>+1 for a group's colour channel, −1 for its negation (rows 4i and 4i + 1).</summary>
    private static float Sign(int row) => (row % 4) switch { 0 => 1f, 1 => -1f, _ => 0f };

    /// <summary>Output colour i = SiLU(channel 4i) − SiLU(channel 4i + 1), the centre tap.</summary>
    private static void DecodeColour(Design weight, int row)
    {
        weight.Set(1f, row, 4 * row, 1, 1);
        weight.Set(-1f, row, 4 * row + 1, 1, 1);
    }

    /// <summary>Biases K and −K on each group's constant channels (rows 4i + 2 and 4i + 3), zero on its colour channels.</summary>
    private static void SetConstantBias(SvdParameters parameters, string key) =>
        SetRows(parameters, key, (b, r) => b.Set((r % 4) switch { 2 => GroupConstant, 3 => -GroupConstant, _ => 0f }, r));

    /// <summary>
    /// GroupNorm before the last convolution: the colour channels scaled back by the group's expected spread
    /// (K/√2 at a typical mean c² of 0.3), the constant channels silenced.
    /// </summary>
    private static void SetNormOut(SvdParameters parameters, string name)
    {
        var spread = MathF.Sqrt((GroupConstant * GroupConstant + 0.3f) / 2);
        SetRows(parameters, name + ".weight", (g, r) => g.Set(r % 4 < 2 ? spread : 0f, r));
        SetRows(parameters, name + ".bias", null);
    }

    /// <summary>Replaces the first <paramref name="rows"/> rows (output channels) of a parameter: zeros, then <paramref name="set"/> per row.</summary>
    private static void SetRows(SvdParameters parameters, string key, Action<Design, int>? set, int rows = DesignedChannels)
    {
        if (!parameters.Specs.ContainsKey(key))
        {
            throw new InvalidOperationException($"The designed VAE start expects a parameter '{key}', which this architecture does not have.");
        }
        var target = parameters[key];
        long[] shape = [rows, .. target.shape.Skip(1)];
        var design = new Design(shape);
        if (set is not null)
        {
            for (var r = 0; r < rows; r++)
            {
                set(design, r);
            }
        }
        using var values = tensor(design.Values, shape);
        target.narrow(0, 0, rows).copy_(values);
    }

    /// <summary>The designed rows of one parameter, row-major, zero unless set.</summary>
    private sealed class Design(long[] shape)
    {
        public float[] Values { get; } = new float[shape.Aggregate(1L, (a, b) => a * b)];

        public void Set(float value, params int[] index)
        {
            long offset = 0;
            for (var d = 0; d < shape.Length; d++)
            {
                offset = offset * shape[d] + index[d];
            }
            Values[offset] = value;
        }
    }
}
