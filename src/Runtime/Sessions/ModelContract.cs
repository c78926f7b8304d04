using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;

namespace Vcut.Runtime.Sessions;

/// <summary>The inputs and outputs each of the four SVD graphs must have (names, element types, ranks).</summary>
internal static class ModelContract
{
    private sealed record Port(string Name, TensorElementType Type, int Rank);

    private static readonly Dictionary<string, (Port[] Inputs, Port[] Outputs)> Contracts = new()
    {
        [ModelNames.ImageEncoder] = ([new(GraphPorts.PixelValues, TensorElementType.Float, 4)], [new(GraphPorts.ImageEmbeds, TensorElementType.Float, 2)]),
        [ModelNames.VaeEncoder] = ([new(GraphPorts.Sample, TensorElementType.Float, 4)], [new(GraphPorts.LatentSample, TensorElementType.Float, 4)]),
        [ModelNames.UNet] = (
            [new(GraphPorts.Sample, TensorElementType.Float, 5), new(GraphPorts.Timestep, TensorElementType.Float, 1),
             new(GraphPorts.EncoderHiddenStates, TensorElementType.Float, 3), new(GraphPorts.AddedTimeIds, TensorElementType.Float, 2)],
            [new(GraphPorts.OutSample, TensorElementType.Float, 5)]),
        [ModelNames.VaeDecoder] = (
            [new(GraphPorts.LatentSample, TensorElementType.Float, 4), new(GraphPorts.NumFrames, TensorElementType.Int64, 0)],
            [new(GraphPorts.Sample, TensorElementType.Float, 4)]),
    };

    private static readonly Port[] VcutUNetInputs =
    [
        new(GraphPorts.Sample, TensorElementType.Float, 5), new(GraphPorts.Timestep, TensorElementType.Float, 1),
        new(GraphPorts.AddedTimeIds, TensorElementType.Float, 2),
    ];

    /// <summary>Throws <see cref="InvalidDataException"/> naming the model, the port and what was expected.</summary>
    public static void Check(string modelName, string path, InferenceSession session, VcutMode mode) =>
        Check(modelName, path, session, mode, UNetPorts.Default);

    /// <summary>As <see cref="Check(string, string, InferenceSession, VcutMode)"/>, with the UNet's ports as the manifest records them.</summary>
    public static void Check(string modelName, string path, InferenceSession session, VcutMode mode, UNetPorts ports)
    {
        if (modelName == ModelNames.UNet && ports != UNetPorts.Default)
        {
            static TensorElementType Type(UNetPort port) =>
                port.ElementType == PortElementType.Float16 ? TensorElementType.Float16 : TensorElementType.Float;
            Port[] fixedPorts =
            [
                new(ports.Sample.Name, Type(ports.Sample), 5), new(ports.Timestep.Name, Type(ports.Timestep), 1),
                new(ports.AddedTimeIds.Name, Type(ports.AddedTimeIds), 2),
            ];
            Port[] output = [new(ports.Output.Name, Type(ports.Output), 5)];
            if (mode == VcutMode.Off)
            {
                CheckPorts(modelName, path, "input", [.. fixedPorts, new(ports.EncoderHiddenStates.Name, Type(ports.EncoderHiddenStates), 3)],
                    session.InputMetadata);
            }
            else
            {
                CheckPorts(modelName, path, "input", fixedPorts, session.InputMetadata.Where(p => fixedPorts.Any(v => v.Name == p.Key)).ToDictionary());
            }
            CheckPorts(modelName, path, "output", output, session.OutputMetadata);
            return;
        }
        if (modelName == ModelNames.ConditioningCache)
        {
            CheckPorts(modelName, path, "input", [new(GraphPorts.EncoderHiddenStates, TensorElementType.Float, 3)], session.InputMetadata);
            return;
        }
        if (modelName == ModelNames.UNet && mode != VcutMode.Off)
        {
            // The cached constants are checked against the cache graph's outputs by CheckCacheFeedsUNet.
            var fixedInputs = session.InputMetadata.Where(p => VcutUNetInputs.Any(v => v.Name == p.Key)).ToDictionary();
            CheckPorts(modelName, path, "input", VcutUNetInputs, fixedInputs);
            CheckPorts(modelName, path, "output", Contracts[modelName].Outputs, session.OutputMetadata);
            if (session.InputMetadata.ContainsKey(GraphPorts.EncoderHiddenStates))
            {
                throw new InvalidDataException(
                    $"Model '{modelName}' ({path}) still reads 'encoder_hidden_states': it is not a VCUT '{mode.ToString().ToLowerInvariant()}' UNet.");
            }
            return;
        }
        var (inputs, outputs) = Contracts[modelName];
        CheckPorts(modelName, path, "input", inputs, session.InputMetadata);
        CheckPorts(modelName, path, "output", outputs, session.OutputMetadata);
    }

    /// <summary>Every cached-constant input of a VCUT UNet must be an output of the cache graph, as (batch, C).</summary>
    public static void CheckCacheFeedsUNet(InferenceSession cache, InferenceSession unet, string directory)
    {
        var constants = unet.InputMetadata.Keys.Where(k => VcutUNetInputs.All(v => v.Name != k)).ToList();
        // Imported UNets keep diffusers' input names (UNetPorts.Read), so the fixed inputs are these three here too.
        if (constants.Count == 0)
        {
            throw new InvalidDataException($"The VCUT UNet of '{directory}' takes no cached constants.");
        }
        foreach (var name in constants)
        {
            if (!cache.OutputMetadata.TryGetValue(name, out var produced))
            {
                throw new InvalidDataException($"The VCUT UNet of '{directory}' needs '{name}', which its conditioning cache does not produce.");
            }
            var needed = unet.InputMetadata[name];
            if (produced.Dimensions.Length != 2 || needed.Dimensions.Length != 2 || produced.Dimensions[1] != needed.Dimensions[1])
            {
                throw new InvalidDataException(
                    $"The cached constant '{name}' of '{directory}' is [{string.Join(", ", produced.Dimensions)}] from the cache but [{string.Join(", ", needed.Dimensions)}] in the UNet; expected (batch, C) in both.");
            }
        }
    }

    private static void CheckPorts(string modelName, string path, string kind, Port[] expected, IReadOnlyDictionary<string, NodeMetadata> actual)
    {
        foreach (var port in expected)
        {
            if (!actual.TryGetValue(port.Name, out var metadata))
            {
                throw new InvalidDataException(
                    $"Model '{modelName}' ({path}) has no {kind} '{port.Name}'; its {kind}s are: {string.Join(", ", actual.Keys)}. " +
                    $"Expected {kind}s: {string.Join(", ", expected.Select(p => p.Name))}.");
            }
            if (!metadata.IsTensor || metadata.ElementDataType != port.Type)
            {
                throw new InvalidDataException(
                    $"Model '{modelName}' ({path}) {kind} '{port.Name}' is {metadata.ElementDataType}, expected a {port.Type} tensor.");
            }
            // Exports declare the UNet timestep as (1) or as a scalar; GraphPorts.IsTimestepRank says which are accepted.
            var rankOk = port.Name == GraphPorts.Timestep ? GraphPorts.IsTimestepRank(metadata.Dimensions.Length) : metadata.Dimensions.Length == port.Rank;
            if (!rankOk)
            {
                throw new InvalidDataException(
                    $"Model '{modelName}' ({path}) {kind} '{port.Name}' has rank {metadata.Dimensions.Length}, expected rank {port.Rank}.");
            }
        }
        if (kind == "input" && actual.Count != expected.Length)
        {
            var extra = actual.Keys.Except(expected.Select(p => p.Name));
            throw new InvalidDataException($"Model '{modelName}' ({path}) has unexpected inputs: {string.Join(", ", extra)}.");
        }
    }
}
