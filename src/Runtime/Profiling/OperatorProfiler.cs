using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Vcut.Runtime.Profiling;

/// <summary>The time one call of a graph spent in the kernels of one operator type.</summary>
/// <param name="OpType">The ONNX (or ONNX Runtime fused) operator type, as the profiler names it.</param>
/// <param name="Kernels">Kernel runs of that type in the call.</param>
/// <param name="Time">Their summed kernel time.</param>
/// <param name="Share">Their share of the summed kernel time of the call.</param>
public sealed record OperatorKindTime(string OpType, int Kernels, TimeSpan Time, double Share);

/// <summary>Where one graph call's time went, by operator type, from ONNX Runtime's profiler.</summary>
/// <param name="CallTime">The profiled call's wall time (ONNX Runtime's <c>model_run</c> event).</param>
/// <param name="KernelTime">The summed kernel times of the call.</param>
/// <param name="ByKind">Per operator type, largest first.</param>
public sealed record OperatorProfile(TimeSpan CallTime, TimeSpan KernelTime, IReadOnlyList<OperatorKindTime> ByKind);

/// <summary>
/// Profiles one call of an ONNX graph with ONNX Runtime's profiler (after a warm-up call in the same session, which is
/// left out) and sums the kernel times by operator type. The session is created with the optimisations the pipeline
/// uses, so the kinds are those of the graph ONNX Runtime actually runs (fused operators included).
/// </summary>
public static class OperatorProfiler
{
    /// <summary>
    /// Profiles <paramref name="modelPath"/> on the CPU with float32 inputs of the given shapes (every input needs one;
    /// values are small and deterministic).
    /// </summary>
    /// <exception cref="ArgumentException">An input without a shape, or an input that is not float32.</exception>
    /// <exception cref="InvalidDataException">The profile could not be read.</exception>
    public static OperatorProfile Profile(string modelPath, IReadOnlyDictionary<string, long[]> inputShapes, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(inputShapes);
        var folder = Directory.CreateTempSubdirectory("vcut-profile-");
        try
        {
            string profilePath;
            using (var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                IntraOpNumThreads = threads,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                // The prefix first: enabling profiling starts it under the prefix set at that moment.
                ProfileOutputPathPrefix = Path.Combine(folder.FullName, "profile"),
                EnableProfiling = true,
            })
            using (var session = new InferenceSession(modelPath, options))
            {
                var values = new List<OrtValue>();
                try
                {
                    var names = session.InputNames.ToArray();
                    foreach (var name in names)
                    {
                        if (!inputShapes.TryGetValue(name, out var shape))
                        {
                            throw new ArgumentException($"No shape given for input '{name}' of '{modelPath}'; its inputs are: {string.Join(", ", names)}.", nameof(inputShapes));
                        }
                        if (session.InputMetadata[name].ElementDataType != TensorElementType.Float)
                        {
                            throw new ArgumentException($"Input '{name}' of '{modelPath}' is {session.InputMetadata[name].ElementDataType}; the profiler feeds float32 inputs only.");
                        }
                        var data = new float[shape.Aggregate(1L, (a, d) => a * d)];
                        for (var i = 0; i < data.Length; i++)
                        {
                            data[i] = 0.1f * MathF.Sin(i * 0.37f);
                        }
                        values.Add(OrtValue.CreateTensorValueFromMemory(data, shape));
                    }
                    using var runOptions = new RunOptions();
                    var outputs = session.OutputNames.ToArray();
                    for (var call = 0; call < 2; call++)
                    {
                        using var results = session.Run(runOptions, names, values, outputs);
                    }
                }
                finally
                {
                    foreach (var value in values)
                    {
                        value.Dispose();
                    }
                }
                profilePath = session.EndProfiling();
            }
            return Summarise(File.ReadAllText(Path.GetFullPath(profilePath)));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Sums the kernel events of the last <c>model_run</c> of an ONNX Runtime profile (its JSON text) by operator type.</summary>
    /// <exception cref="InvalidDataException">Not a profile with at least one model run.</exception>
    public static OperatorProfile Summarise(string profileJson)
    {
        using var document = JsonDocument.Parse(profileJson);
        var events = document.RootElement.ValueKind == JsonValueKind.Array
            ? document.RootElement
            : document.RootElement.GetProperty("traceEvents");
        var runs = new List<(long Start, long Duration)>();
        var kernels = new List<(long Start, long Duration, string OpType)>();
        foreach (var e in events.EnumerateArray())
        {
            var category = e.TryGetProperty("cat", out var cat) ? cat.GetString() : null;
            var name = e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
            if (!e.TryGetProperty("ts", out var ts) || !e.TryGetProperty("dur", out var dur))
            {
                continue;
            }
            if (category == "Session" && name == "model_run")
            {
                runs.Add((ts.GetInt64(), dur.GetInt64()));
            }
            else if (category == "Node" && name.EndsWith("_kernel_time", StringComparison.Ordinal)
                && e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var op))
            {
                kernels.Add((ts.GetInt64(), dur.GetInt64(), op.GetString() ?? "?"));
            }
        }
        if (runs.Count == 0)
        {
            throw new InvalidDataException("The ONNX Runtime profile has no model_run event.");
        }
        var last = runs.MaxBy(r => r.Start);
        var inRun = kernels.Where(k => k.Start >= last.Start && k.Start <= last.Start + last.Duration).ToList();
        var total = inRun.Sum(k => k.Duration);
        var byKind = inRun.GroupBy(k => k.OpType)
            .Select(g => new OperatorKindTime(g.Key, g.Count(), TimeSpan.FromMicroseconds(g.Sum(k => k.Duration)), total > 0 ? g.Sum(k => k.Duration) / (double)total : 0))
            .OrderByDescending(k => k.Time)
            .ToList();
        return new OperatorProfile(TimeSpan.FromMicroseconds(last.Duration), TimeSpan.FromMicroseconds(total), byKind);
    }
}
