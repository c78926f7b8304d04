using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Vcut.Graph.Builders;
using Vcut.Graph.Files;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.StepCache;
using Vcut.Graph.Vcut;

namespace Vcut.Runtime.Sessions;

/// <summary>
/// The four ONNX Runtime sessions of one model directory, created once and reused for every video.
/// Thread-safe for concurrent runs (ONNX Runtime sessions are); dispose once when done.
/// </summary>
internal sealed class SvdSessions : IDisposable
{
    private readonly Dictionary<string, InferenceSession> _sessions;

    private SvdSessions(string directory, ModelManifest manifest, Dictionary<string, InferenceSession> sessions, ExecutionDevice device,
        ExecutionOptions execution, long modelBytes)
    {
        Execution = execution;
        ModelBytes = modelBytes;
        Directory = directory;
        Manifest = manifest;
        _sessions = sessions;
        Device = device;
    }

    /// <summary>The model directory.</summary>
    public string Directory { get; }

    /// <summary>Its manifest.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>Where the sessions actually run (CPU after a permitted fallback).</summary>
    public ExecutionDevice Device { get; }

    /// <summary>The options the sessions were created with.</summary>
    public ExecutionOptions Execution { get; }

    /// <summary>
    /// Bytes of the graphs in use and their external data files (their weights, essentially); a data file shared by
    /// two graphs (a UNet rewritten in memory and its cache) is counted once.
    /// </summary>
    public long ModelBytes { get; }

    /// <summary>The session of one model (see <see cref="ModelNames"/>).</summary>
    internal InferenceSession this[string modelName] => _sessions[modelName];

    /// <summary>The VCUT mode the UNet runs in.</summary>
    public VcutMode Vcut { get; private init; }

    /// <summary>What the in-memory rewrite found, when the directory was opened in another VCUT mode than it holds.</summary>
    public RewriteReport? Rewrite { get; private init; }

    /// <summary>
    /// Where the UNet was split for step-level caching, when <see cref="Open"/> was given a branch: the
    /// <see cref="ModelNames.UNet"/> session then also outputs the deep features, and a
    /// <see cref="StepCacheSplitter.ShallowModelName"/> session computes the outer levels from them.
    /// </summary>
    public StepCacheSplit? StepCache { get; private init; }

    /// <summary>The names of the graphs in use: the four SVD graphs, plus the conditioning cache in a VCUT mode.</summary>
    public IReadOnlyList<string> ModelNamesInUse => Vcut.ModelNamesIn();

    /// <summary>
    /// Opens the model directory <paramref name="directory"/>: reads its manifest, creates one session per
    /// graph on the requested provider and checks each graph against the pipeline's contract. With
    /// <paramref name="vcut"/> set on a directory of the original UNet, the UNet is rewritten in memory (see
    /// <see cref="VcutRewriter"/>); null keeps the directory's own mode. With <paramref name="stepCacheBranch"/> set,
    /// the UNet (after any VCUT rewrite) is split in memory for step-level caching (see <see cref="StepCacheSplitter"/>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No manifest, a missing or unreadable model, or a graph whose inputs/outputs do not match.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and cannot start, and CPU fallback is not allowed; or a VCUT mode the directory cannot give.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A step-cache branch the UNet does not have.</exception>
    public static SvdSessions Open(string directory, ExecutionOptions? execution = null, VcutMode? vcut = null, int? stepCacheBranch = null)
    {
        execution ??= ExecutionOptions.Cpu;
        execution.Validate();
        var manifest = ModelManifest.Load(directory);
        var mode = manifest.ModeToRun(vcut, directory);
        var names = mode.ModelNamesIn();
        var paths = new Dictionary<string, string>();
        foreach (var name in names)
        {
            var inMemory = name == ModelNames.ConditioningCache && manifest.Vcut == VcutMode.Off;
            if (inMemory)
            {
                continue;
            }
            // Inside the directory, links resolved: a manifest cannot make the sessions load a file from elsewhere.
            var path = manifest.PathOf(directory, name);
            if (!File.Exists(path))
            {
                throw new InvalidDataException($"Model directory '{directory}' is missing its '{name}' model: '{path}' does not exist.");
            }
            InputFiles.RequireRegularFile(path, $"The '{name}' model");
            paths[name] = path;
        }

        // A VCUT mode on an original UNet: rewrite it now, in memory.
        Dictionary<string, byte[]> rewritten = [];
        RewriteReport? report = null;
        if (mode != VcutMode.Off && manifest.Vcut == VcutMode.Off)
        {
            // Shapes measured by ONNX Runtime (a probe run), so any export's plumbing is followed (docs/vcut.md).
            var unetFolder = Path.GetDirectoryName(Path.GetFullPath(paths[ModelNames.UNet]))!;
            var result = VcutRewriter.Rewrite(OnnxModelFile.Read(paths[ModelNames.UNet]), mode, OrtShapeProbe.For(unetFolder));
            rewritten[ModelNames.UNet] = result.UNet.ToByteArray();
            rewritten[ModelNames.ConditioningCache] = result.Cache.ToByteArray();
            report = result.Report;
        }

        // Step-level caching: the UNet that also outputs its deep features, and the shallow graph that takes them.
        StepCacheSplit? split = null;
        if (stepCacheBranch is { } branch)
        {
            var unet = rewritten.TryGetValue(ModelNames.UNet, out var unetBytes)
                ? Onnx.ModelProto.Parser.ParseFrom(unetBytes)
                : OnnxModelFile.Read(paths[ModelNames.UNet]);
            var graphs = StepCacheSplitter.Split(unet, branch);
            rewritten[ModelNames.UNet] = graphs.Full.ToByteArray();
            rewritten[StepCacheSplitter.ShallowModelName] = graphs.Shallow.ToByteArray();
            split = graphs.Split;
        }

        var device = execution.Device;
        var sessions = new Dictionary<string, InferenceSession>();
        long modelBytes = 0;
        // External data is counted once per folder: a UNet rewritten in memory and its conditioning cache read the
        // same data file beside the original UNet.
        var countedDataFolders = new HashSet<string>(StringComparer.Ordinal);
        long DataBytesOnce(string modelPath)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
            return countedDataFolders.Add(folder) ? ExternalDataBytes(folder) : 0;
        }
        try
        {
            foreach (var name in split is null ? names : [.. names, StepCacheSplitter.ShallowModelName])
            {
                var origin = paths.GetValueOrDefault(name) ?? $"{directory} ({name}, rewritten in memory)";
                InferenceSession session;
                if (rewritten.TryGetValue(name, out var bytes))
                {
                    modelBytes += bytes.Length + DataBytesOnce(paths[ModelNames.UNet]);
                    // Graphs rewritten in memory still point at the original UNet's external data file, if any.
                    var dataFolder = Path.GetDirectoryName(Path.GetFullPath(paths[ModelNames.UNet]))!;
                    (session, device) = CreateSession(origin, options =>
                    {
                        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", dataFolder);
                        return new InferenceSession(bytes, options);
                    }, execution, device);
                }
                else
                {
                    modelBytes += new FileInfo(origin).Length + DataBytesOnce(origin);
                    (session, device) = CreateSession(origin, options => new InferenceSession(origin, options), execution, device);
                }
                sessions[name] = session;
                if (name != StepCacheSplitter.ShallowModelName)
                {
                    ModelContract.Check(name, origin, session, mode, manifest.Ports);
                }
            }
            if (mode != VcutMode.Off)
            {
                ModelContract.CheckCacheFeedsUNet(sessions[ModelNames.ConditioningCache], sessions[ModelNames.UNet], directory);
            }
            return new SvdSessions(directory, manifest, sessions, device, execution, modelBytes) { Vcut = mode, Rewrite = report, StepCache = split };
        }
        catch
        {
            foreach (var session in sessions.Values)
            {
                session.Dispose();
            }
            throw;
        }
    }

    /// <summary>The bytes of the external data files in a model's folder (weights stored outside model.onnx).</summary>
    private static long ExternalDataBytes(string folder)
    {
        return System.IO.Directory.EnumerateFiles(folder, "*.data").Sum(f => new FileInfo(f).Length);
    }

    private static (InferenceSession, ExecutionDevice) CreateSession(string path, Func<SessionOptions, InferenceSession> create,
        ExecutionOptions execution, ExecutionDevice device)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = execution.IntraOpThreads,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (device == ExecutionDevice.Cuda)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(execution.CudaDeviceId);
            }
            catch (OnnxRuntimeException e)
            {
                if (!execution.AllowCpuFallback)
                {
                    throw new InvalidOperationException(
                        $"CUDA execution was requested (device {execution.CudaDeviceId}) but ONNX Runtime's CUDA provider could not start: {e.Message} " +
                        "Install an NVIDIA driver with CUDA 12 and cuDNN 9 libraries on the library path, or run on the CPU (--device cpu), " +
                        "or allow the CPU fallback (--allow-cpu-fallback).", e);
                }
                device = ExecutionDevice.Cpu;
            }
        }
        try
        {
            return (create(options), device);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{path}': {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var session in _sessions.Values)
        {
            session.Dispose();
        }
        _sessions.Clear();
    }
}
