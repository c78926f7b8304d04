namespace Vcut.Runtime.Sessions;

/// <summary>Where the models run.</summary>
public enum ExecutionDevice
{
    /// <summary>ONNX Runtime's CPU provider (works everywhere).</summary>
    Cpu,
    /// <summary>ONNX Runtime's CUDA provider (needs an NVIDIA GPU with CUDA 12 and cuDNN 9 libraries).</summary>
    Cuda,
}

/// <summary>How sessions are created: immutable, validated by <see cref="Validate"/>.</summary>
public sealed record ExecutionOptions
{
    /// <summary>The execution provider; CPU by default.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>The CUDA device ordinal when <see cref="Device"/> is CUDA.</summary>
    public int CudaDeviceId { get; init; }

    /// <summary>When CUDA is asked for but cannot start, run on the CPU instead of failing.</summary>
    public bool AllowCpuFallback { get; init; }

    /// <summary>Threads for one operator (0 = ONNX Runtime's choice: one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Memory a video may use on the CPU provider; a request whose estimate exceeds it is refused up front.
    /// Null: the memory available to this process (physical memory or the container's limit).
    /// </summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Operator threads allowed per processor: more only contend for the cores (and each costs a stack).</summary>
    public const int ThreadsPerProcessor = 4;

    /// <summary>The most <see cref="IntraOpThreads"/> allowed: <see cref="ThreadsPerProcessor"/> × the processors this process may use.</summary>
    public static int MaxIntraOpThreads => ThreadsPerProcessor * Environment.ProcessorCount;

    /// <summary>The CPU default.</summary>
    public static ExecutionOptions Cpu { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Device))
        {
            throw new ArgumentException($"ExecutionOptions.Device = {Device} is not a known device.");
        }
        if (CudaDeviceId < 0)
        {
            throw new ArgumentException($"ExecutionOptions.CudaDeviceId = {CudaDeviceId} must be zero or positive.");
        }
        if (MemoryBudgetBytes is <= 0)
        {
            throw new ArgumentException($"ExecutionOptions.MemoryBudgetBytes = {MemoryBudgetBytes} must be positive.");
        }
        if (IntraOpThreads < 0)
        {
            throw new ArgumentException($"ExecutionOptions.IntraOpThreads = {IntraOpThreads} must be zero (automatic) or positive.");
        }
        if (IntraOpThreads > MaxIntraOpThreads)
        {
            throw new ArgumentException(
                $"ExecutionOptions.IntraOpThreads = {IntraOpThreads} is more than {MaxIntraOpThreads}, {ThreadsPerProcessor} × the {Environment.ProcessorCount} processor(s) " +
                $"this process may use; give at most {MaxIntraOpThreads}, or 0 for one thread per physical core.");
        }
    }
}
