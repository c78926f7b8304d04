using System.Globalization;

namespace Vcut.Runtime.Batch;

/// <summary>
/// Which part of a dataset one process handles: shard <see cref="Index"/> of <see cref="Count"/>. Each input belongs to
/// exactly one shard, chosen by a stable hash of its key (<see cref="StableHash.ShardOf"/>), so processes that list the
/// same dataset split it without talking to each other, and an input keeps its shard when others are added or removed.
/// </summary>
/// <param name="Index">This shard, 0 to <see cref="Count"/> − 1.</param>
/// <param name="Count">Shards in all, at least 1.</param>
public readonly record struct BatchShard(int Index, int Count)
{
    /// <summary>The Kubernetes Indexed Job variable holding the pod's index (0 to completions − 1).</summary>
    public const string KubernetesIndexVariable = "JOB_COMPLETION_INDEX";

    /// <summary>The Slurm job array variable holding the task's index.</summary>
    public const string SlurmIndexVariable = "SLURM_ARRAY_TASK_ID";

    /// <summary>The Slurm variable holding the array's first index, subtracted so <c>--array=1-4</c> works like <c>0-3</c>.</summary>
    public const string SlurmMinVariable = "SLURM_ARRAY_TASK_MIN";

    /// <summary>The whole dataset: shard 0 of 1.</summary>
    public static BatchShard All { get; } = new(0, 1);

    /// <summary>Whether the input <paramref name="key"/> belongs to this shard.</summary>
    public bool Contains(string key) => StableHash.ShardOf(key, Count) == Index;

    /// <summary>Throws <see cref="ArgumentException"/> unless 0 ≤ index &lt; count.</summary>
    public void Validate()
    {
        if (Count < 1 || Index < 0 || Index >= Count)
        {
            throw new ArgumentException($"Invalid shard {Index}/{Count}: expected an index from 0 to count − 1 and a count of at least 1.");
        }
    }

    /// <summary>Parses <c>i/n</c>, e.g. <c>0/4</c>.</summary>
    /// <exception cref="ArgumentException">Not two integers with 0 ≤ i &lt; n.</exception>
    public static BatchShard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length != 2 || !TryInt(parts[0], out var index) || !TryInt(parts[1], out var count))
        {
            throw new ArgumentException($"Shard '{text}' is not of the form i/n (e.g. 0/4).");
        }
        var shard = new BatchShard(index, count);
        shard.Validate();
        return shard;
    }

    /// <summary>
    /// Shard i of <paramref name="count"/>, with i from the batch scheduler: <c>JOB_COMPLETION_INDEX</c> (Kubernetes
    /// Indexed Job), else <c>SLURM_ARRAY_TASK_ID</c> minus <c>SLURM_ARRAY_TASK_MIN</c> when set (Slurm job array).
    /// </summary>
    /// <param name="count">Shards in all: the Job's completions, or the array's size.</param>
    /// <param name="environment">Reads a variable (the process environment when null; a parameter for tests).</param>
    /// <exception cref="ArgumentException">Neither variable is set, one is not an integer, or the index is not below <paramref name="count"/>.</exception>
    public static BatchShard FromEnvironment(int count, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (count < 1)
        {
            throw new ArgumentException($"A shard count of {count}: expected at least 1.");
        }
        int index;
        string source;
        if (environment(KubernetesIndexVariable) is { Length: > 0 } kubernetes)
        {
            index = Require(kubernetes, KubernetesIndexVariable);
            source = $"{KubernetesIndexVariable}={kubernetes}";
        }
        else if (environment(SlurmIndexVariable) is { Length: > 0 } slurm)
        {
            var min = environment(SlurmMinVariable) is { Length: > 0 } first ? Require(first, SlurmMinVariable) : 0;
            index = Require(slurm, SlurmIndexVariable) - min;
            source = $"{SlurmIndexVariable}={slurm}" + (min != 0 ? $" − {SlurmMinVariable}={min}" : "");
        }
        else
        {
            throw new ArgumentException(
                $"{count} shards were asked for without an index: neither {KubernetesIndexVariable} (Kubernetes Indexed Job) nor " +
                $"{SlurmIndexVariable} (Slurm job array) is set. Give the index explicitly as i/{count}.");
        }
        if (index < 0 || index >= count)
        {
            throw new ArgumentException($"Shard index {index} (from {source}) is outside 0 to {count - 1} for {count} shards; the shard count must equal the Job's completions or the array's size.");
        }
        return new BatchShard(index, count);
    }

    /// <summary><c>i/n</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    private static int Require(string text, string variable) =>
        TryInt(text, out var value) ? value : throw new ArgumentException($"{variable}='{text}' is not an integer.");
}
