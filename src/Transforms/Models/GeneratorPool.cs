using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet.Models;

/// <summary>
/// One <see cref="VideoGenerator"/> per (model directory, VCUT mode, step-cache branch, execution options), shared by every transformer
/// that asks for it: the five stage transformers of one pipeline open the model's sessions once, not five times.
/// Reference-counted; the generator is disposed when its last lease is.
/// </summary>
internal static class GeneratorPool
{
    private sealed record Key(string Directory, VcutMode? Vcut, int? StepCacheBranch, ExecutionOptions Execution);

    private sealed class Entry(Lazy<VideoGenerator> generator)
    {
        public Lazy<VideoGenerator> Generator { get; } = generator;

        public int Leases { get; set; }
    }

    private static readonly Dictionary<Key, Entry> Entries = [];
    private static readonly Lock Gate = new();

    /// <summary>The leases held now on the generator for <paramref name="options"/> (0 when it is not open; for tests).</summary>
    internal static int Leases(VcutOptions options)
    {
        lock (Gate)
        {
            return Entries.TryGetValue(KeyOf(options), out var entry) ? entry.Leases : 0;
        }
    }

    private static Key KeyOf(VcutOptions options) => new(ModelShapes.DirectoryOf(options), options.Vcut, options.OpenedStepCacheBranch, options.Execution);

    /// <summary>A lease on the generator for <paramref name="options"/>, opening it if no one holds it.</summary>
    /// <exception cref="DirectoryNotFoundException">The model directory does not exist.</exception>
    /// <exception cref="InvalidDataException">A model is missing or does not match the pipeline's contract.</exception>
    /// <exception cref="InvalidOperationException">CUDA cannot start and CPU fallback is off; or an impossible VCUT mode.</exception>
    public static GeneratorLease Acquire(VcutOptions options)
    {
        var key = KeyOf(options);
        Entry entry;
        lock (Gate)
        {
            if (!Entries.TryGetValue(key, out entry!))
            {
                entry = new Entry(new Lazy<VideoGenerator>(() => VideoGenerator.Open(key.Directory, key.Execution, key.Vcut, key.StepCacheBranch),
                    LazyThreadSafetyMode.ExecutionAndPublication));
                Entries[key] = entry;
            }
            entry.Leases++;
        }
        try
        {
            // Opened outside the pool's lock: opening one model does not hold up another.
            return new GeneratorLease(entry.Generator.Value, () => Release(key, entry));
        }
        catch
        {
            Release(key, entry);
            throw;
        }
    }

    private static void Release(Key key, Entry entry)
    {
        lock (Gate)
        {
            if (--entry.Leases > 0)
            {
                return;
            }
            Entries.Remove(key);
        }
        if (entry.Generator.IsValueCreated)
        {
            entry.Generator.Value.Dispose();
        }
    }
}

/// <summary>A shared <see cref="VideoGenerator"/>, released (not disposed) by <see cref="Dispose"/>.</summary>
internal sealed class GeneratorLease(VideoGenerator generator, Action release) : IDisposable
{
    private Action? _release = release;

    public VideoGenerator Generator { get; } = generator;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
