using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>Weights given by key in a test; every parameter the graph asks for must be there.</summary>
internal sealed class DictionaryWeightSource(Dictionary<string, float[]> values) : IWeightSource
{
    public string Description => "test";

    public float[] Get(ParameterSpec parameter) =>
        values.TryGetValue(parameter.Key, out var v) ? v : throw new InvalidDataException($"test has no '{parameter.Key}'");

    float[]? IWeightSource.Get(ParameterSpec parameter) => Get(parameter);
}
