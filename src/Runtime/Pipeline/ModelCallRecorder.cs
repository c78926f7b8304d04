using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Vcut.Runtime.Sessions;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// Runs the sessions of one video with a shared <see cref="RunOptions"/> that a cancellation terminates (so a
/// cancel stops inside the running model call), counting calls and the time spent inside ONNX Runtime.
/// </summary>
internal sealed class ModelCallRecorder : IDisposable
{
    private readonly SvdSessions _sessions;
    private readonly RunOptions _runOptions = new();
    private readonly CancellationTokenRegistration _registration;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, List<TimeSpan>> _calls = new(StringComparer.Ordinal);
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private TimeSpan _inModels;

    public ModelCallRecorder(SvdSessions sessions, CancellationToken cancellationToken)
    {
        _sessions = sessions;
        _cancellationToken = cancellationToken;
        _registration = cancellationToken.Register(() => _runOptions.Terminate = true);
    }

    /// <summary>Runs <paramref name="modelName"/> writing into pre-allocated <paramref name="outputs"/>.</summary>
    public void Run(string modelName, string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        try
        {
            _sessions[modelName].Run(_runOptions, inputNames, inputs, outputNames, outputs);
        }
        catch (OnnxRuntimeException) when (_cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Video generation was cancelled during a model call.", _cancellationToken);
        }
        Record(modelName, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Runs <paramref name="modelName"/> with outputs ONNX Runtime allocates (for outputs whose size is known only
    /// after a first call); counted like <see cref="Run"/>. The caller disposes the result.
    /// </summary>
    public IDisposableReadOnlyCollection<OrtValue> RunAllocating(string modelName, string[] inputNames, OrtValue[] inputs, string[] outputNames)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        IDisposableReadOnlyCollection<OrtValue> results;
        try
        {
            results = _sessions[modelName].Run(_runOptions, inputNames, inputs, outputNames);
        }
        catch (OnnxRuntimeException) when (_cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("Video generation was cancelled during a model call.", _cancellationToken);
        }
        Record(modelName, Stopwatch.GetElapsedTime(started));
        return results;
    }

    private void Record(string modelName, TimeSpan elapsed)
    {
        _inModels += elapsed;
        if (!_calls.TryGetValue(modelName, out var durations))
        {
            _calls[modelName] = durations = [];
        }
        durations.Add(elapsed);
    }

    /// <summary>Rows of the UNet batch, recorded by the denoising loop.</summary>
    public int UNetBatch { get; set; }

    public GenerationStatistics Statistics() => new(
        _calls.ToDictionary(c => c.Key, c => (IReadOnlyList<TimeSpan>)c.Value.ToArray()), _inModels, _total.Elapsed, UNetBatch);

    public void Dispose()
    {
        _registration.Dispose();
        _runOptions.Dispose();
    }
}
