using TorchSharp;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;
using static TorchSharp.torch;

namespace Vcut.Training.Model;

/// <summary>
/// Every parameter of the four SVD networks as TorchSharp tensors, keyed by the diffusers / transformers state-dict
/// names. The names and shapes come from the graph builders themselves (a structure-only build), so the TorchSharp
/// networks, the ONNX graphs and the converter can never disagree on what a parameter is called.
/// </summary>
public sealed class SvdParameters : IDisposable
{
    private readonly Dictionary<string, TorchSharp.Modules.Parameter> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParameterSpec> _specs = new(StringComparer.Ordinal);

    private SvdParameters(ModelPreset preset) => Preset = preset;

    /// <summary>The architecture the parameters belong to.</summary>
    public ModelPreset Preset { get; }

    /// <summary>The state-dict keys of one graph (<see cref="ModelNames"/>), in build order.</summary>
    public IReadOnlyList<string> KeysOf(string modelName) => _keysByModel[modelName];

    private readonly Dictionary<string, List<string>> _keysByModel = new(StringComparer.Ordinal);

    /// <summary>Every parameter's spec, by key.</summary>
    public IReadOnlyDictionary<string, ParameterSpec> Specs => _specs;

    /// <summary>The tensor of <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No parameter has that key.</exception>
    public Tensor this[string key] => _tensors.TryGetValue(key, out var t)
        ? t
        : throw new KeyNotFoundException($"The SVD networks have no parameter '{key}'.");

    /// <summary>The tensors of the graphs named, for an optimizer.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> TensorsOf(params string[] modelNames) =>
        modelNames.SelectMany(KeysOf).Distinct(StringComparer.Ordinal).Select(k => _tensors[k]);

    /// <summary>
    /// Creates the parameters of <paramref name="preset"/> with a training initialisation: weights uniform in
    /// ±1/√fan-in (torch's default), biases and norm shifts zero, norm scales one, embeddings N(0, 0.02²), blend
    /// factors as diffusers initialises them; and, with <paramref name="identityStart"/>, the last convolution of each
    /// temporal branch (and the UNet's output) zero, so that every temporal layer starts as the identity and the UNet
    /// starts by predicting zero.
    /// </summary>
    public static SvdParameters CreateForTraining(ModelPreset preset, long seed, bool identityStart = true)
    {
        using var generator = new Generator((ulong)seed);
        return Create(preset, spec =>
        {
            using var _ = no_grad();
            return new TorchSharp.Modules.Parameter(Initial(spec, generator, identityStart), requires_grad: true);
        });
    }

    /// <summary>Creates the parameters of <paramref name="preset"/> with values from <paramref name="source"/> (no gradients).</summary>
    public static SvdParameters FromSource(ModelPreset preset, IWeightSource source) => Create(preset, spec =>
    {
        var values = new float[spec.ElementCount];
        if (!source.TryRead(spec, values))
        {
            throw new InvalidOperationException($"The weight source '{source.Description}' gives no values.");
        }
        return new TorchSharp.Modules.Parameter(tensor(values, spec.Shape), requires_grad: false);
    });

    /// <summary>One tensor per distinct key of the four graphs (the conditioning cache shares the UNet's), made by <paramref name="make"/>.</summary>
    private static SvdParameters Create(ModelPreset preset, Func<ParameterSpec, TorchSharp.Modules.Parameter> make)
    {
        var parameters = new SvdParameters(preset);
        var options = new SvdBuildOptions(preset, StructureOnlyWeightSource.Instance, AttentionForm.Plain);
        foreach (var model in ModelNames.All)
        {
            var keys = new List<string>();
            foreach (var spec in SvdModelBuilder.ParametersOf(model, options))
            {
                keys.Add(spec.Key);
                if (!parameters._tensors.ContainsKey(spec.Key))
                {
                    parameters._specs[spec.Key] = spec;
                    parameters._tensors[spec.Key] = make(spec);
                }
            }
            parameters._keysByModel[model] = keys;
        }
        return parameters;
    }

    /// <summary>The current values of <paramref name="key"/>, row-major.</summary>
    public float[] Values(string key)
    {
        using var _ = no_grad();
        using var contiguous = this[key].detach().contiguous();
        return contiguous.data<float>().ToArray();
    }

    /// <summary>Overwrites every parameter with the values in <paramref name="source"/> (a checkpoint being resumed).</summary>
    public void Load(IReadOnlyDictionary<string, float[]> source)
    {
        using var _ = no_grad();
        foreach (var (key, tensor) in _tensors)
        {
            if (!source.TryGetValue(key, out var values) || values.LongLength != tensor.numel())
            {
                throw new InvalidDataException($"The checkpoint has no parameter '{key}' of {tensor.numel()} values.");
            }
            using var loaded = torch.tensor(values, tensor.shape);
            tensor.copy_(loaded);
        }
    }

    /// <summary>The parameters as a weight source, for the snapshot writer and the graph builders.</summary>
    public IWeightSource AsWeightSource(string description) => new TensorWeightSource(this, description);

    private static Tensor Initial(ParameterSpec spec, Generator generator, bool identityStart)
    {
        var key = spec.Key;
        var shape = spec.Shape;
        if (key.EndsWith("mix_factor", StringComparison.Ordinal))
        {
            // diffusers: merge_factor 0.5 in the UNet, 0.0 in the VAE decoder.
            return full(shape, key.StartsWith("decoder.", StringComparison.Ordinal) ? 0f : 0.5f);
        }
        if (identityStart && IsZeroInitialised(key))
        {
            return zeros(shape);
        }
        if (identityStart && key == "decoder.time_conv_out.weight")
        {
            // The identity across frames: only the centre tap, channel to itself.
            var identity = zeros(shape);
            for (var c = 0; c < shape[0]; c++)
            {
                identity[c, c, 1, 0, 0] = tensor(1f);
            }
            return identity;
        }
        return spec.Role switch
        {
            ParameterRole.Weight => (rand(shape, generator: generator) * 2 - 1) * (1.0 / Math.Sqrt(Math.Max(1, spec.FanIn))),
            ParameterRole.NormScale => ones(shape),
            ParameterRole.Embedding => randn(shape, generator: generator) * 0.02,
            _ => zeros(shape),
        };
    }

    private static bool IsZeroInitialised(string key) =>
        key.StartsWith("conv_out.", StringComparison.Ordinal)
        || (key.Contains("temporal_res_block.conv2.", StringComparison.Ordinal))
        || key == "decoder.time_conv_out.bias";

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
        _tensors.Clear();
    }

    private sealed class TensorWeightSource(SvdParameters parameters, string description) : IWeightSource
    {
        public string Description => description;

        public float[]? Get(ParameterSpec parameter)
        {
            ArgumentNullException.ThrowIfNull(parameter);
            var values = parameters.Values(parameter.Key);
            if (values.LongLength != parameter.ElementCount)
            {
                throw new InvalidDataException($"'{parameter.Key}' has {values.Length} values, expected {parameter.ElementCount}.");
            }
            return values;
        }
    }
}
