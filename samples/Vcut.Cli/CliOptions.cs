using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;
using Vcut.Runtime.Video;

namespace Vcut.Cli;

/// <summary>A mistake in how the command was called; printed with a pointer to the command's help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The options several commands share, on System.CommandLine. Their defaults are read from the library's options types
/// (<see cref="VideoGenerationOptions"/>, <see cref="ExecutionOptions"/>, <see cref="VideoWriteOptions"/>), so the help
/// shows what the library does and nothing is restated here.
/// </summary>
internal static class CliOptions
{
    private static readonly VideoGenerationOptions VideoDefaults = new();
    private static readonly ExecutionOptions ExecutionDefaults = new();
    private static readonly VideoWriteOptions WriteDefaults = new();

    // What one video is (generate, batch, evaluate).
    public static readonly Option<int?> Frames = new("--frames") { Description = "Frames per video (the model's default)", HelpName = "F" };
    public static readonly Option<int> Steps = new("--steps") { Description = "Denoising steps", HelpName = "S", DefaultValueFactory = _ => VideoDefaults.Steps };
    public static readonly Option<int?> Height = new("--height") { Description = "Height in pixels, a multiple of 8 (the model's default)", HelpName = "H" };
    public static readonly Option<int?> Width = new("--width") { Description = "Width in pixels, a multiple of 8 (the model's default)", HelpName = "W" };
    public static readonly Option<float> Fps = new("--fps") { Description = "Frames per second: the model's conditioning and the video's rate", HelpName = "N", DefaultValueFactory = _ => VideoDefaults.Fps };
    public static readonly Option<float> MotionBucket = new("--motion-bucket") { Description = "Motion bucket id: more means more motion", HelpName = "N", DefaultValueFactory = _ => VideoDefaults.MotionBucketId };
    public static readonly Option<float> NoiseAug = new("--noise-aug") { Description = "Noise added to the conditioning image", HelpName = "X", DefaultValueFactory = _ => VideoDefaults.NoiseAugStrength };
    public static readonly Option<float> MinGuidance = new("--min-guidance") { Description = "Guidance scale of the first frame", HelpName = "G", DefaultValueFactory = _ => VideoDefaults.MinGuidanceScale };
    public static readonly Option<float> MaxGuidance = new("--max-guidance") { Description = "Guidance scale of the last frame; at most 1 turns guidance off and halves the UNet batch", HelpName = "G", DefaultValueFactory = _ => VideoDefaults.MaxGuidanceScale };
    public static readonly Option<int?> DecodeChunk = new("--decode-chunk") { Description = "Frames decoded per VAE call (all frames)", HelpName = "N" };
    public static readonly Option<int> StepCache = new("--step-cache")
    {
        Description = "Step-level caching: the full UNet every N steps, only its outer levels between (1: off; docs/speed.md)",
        HelpName = "N",
        DefaultValueFactory = _ => VideoDefaults.StepCacheInterval,
    };
    public static readonly Option<int> StepCacheBranch = new("--step-cache-branch")
    {
        Description = "Resolution levels a cached step computes, from the outermost (1: the cheapest)",
        HelpName = "B",
        DefaultValueFactory = _ => 1,
    };
    public static readonly Option<float> GuidanceFraction = new("--guidance-fraction")
    {
        Description = "Fraction of the steps, from the first, that run guidance's unconditional row (1: every step)",
        HelpName = "F",
        DefaultValueFactory = _ => VideoDefaults.GuidanceStepFraction,
    };
    public static readonly Option<int> GuidanceInterval = new("--guidance-interval")
    {
        Description = "Guidance reuse: the unconditional row every N guided steps, its last difference reused between (1: every step)",
        HelpName = "N",
        DefaultValueFactory = _ => VideoDefaults.GuidanceInterval,
    };
    public static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of the noise: the same seed gives bit-identical frames on the CPU", HelpName = "N", DefaultValueFactory = _ => VideoDefaults.Seed };

    // Where the models run.
    public static readonly Option<string> Device = Choice(new Option<string>("--device") { Description = "Execution provider", DefaultValueFactory = _ => Lower(ExecutionDefaults.Device) }, "cpu", "cuda");
    public static readonly Option<int> CudaDevice = new("--cuda-device") { Description = "CUDA device number", HelpName = "N", DefaultValueFactory = _ => ExecutionDefaults.CudaDeviceId };
    public static readonly Option<bool> AllowCpuFallback = new("--allow-cpu-fallback") { Description = "Run on the CPU when CUDA cannot start" };
    public static readonly Option<int> Threads = new("--threads")
    {
        Description = $"ONNX Runtime threads, at most {ExecutionOptions.ThreadsPerProcessor} × the cores (0: one per physical core)",
        HelpName = "N",
        DefaultValueFactory = _ => ExecutionDefaults.IntraOpThreads,
    };

    // How the video file is written.
    public static readonly Option<string> Dither = Choice(new Option<string>("--dither") { Description = "GIF dithering", DefaultValueFactory = _ => DitherName(WriteDefaults.GifDithering) }, "floyd-steinberg", "ordered", "none");
    public static readonly Option<string?> Ffmpeg = PathOption(new Option<string?>("--ffmpeg") { Description = "The ffmpeg program for MP4 output (ffmpeg on PATH)", HelpName = "PATH" });
    public static readonly Option<float?> MaxMegapixels = new("--max-megapixels")
    {
        Description = string.Create(CultureInfo.InvariantCulture, $"Larger pictures are refused from their header, before decoding (default {RgbImage.DefaultMaxPixels / 1e6:0.##})"),
        HelpName = "N",
    };

    // The model.
    public static readonly Option<string?> Model = PathOption(new Option<string?>("--model") { Description = "Model directory (the embedded default)", HelpName = "DIR" });

    /// <summary>The options of one video, for commands that generate.</summary>
    public static Option[] Video => [Frames, Steps, Height, Width, Fps, MotionBucket, NoiseAug, MinGuidance, MaxGuidance, DecodeChunk, Seed,
        StepCache, StepCacheBranch, GuidanceFraction, GuidanceInterval];

    /// <summary>The execution options.</summary>
    public static Option[] Execution => [Device, CudaDevice, AllowCpuFallback, Threads];

    /// <summary>The video file options.</summary>
    public static Option[] Writing => [Dither, Ffmpeg, MaxMegapixels];

    /// <summary>Adds the option groups to <paramref name="command"/>.</summary>
    public static Command With(this Command command, params Option[][] groups)
    {
        foreach (var option in groups.SelectMany(group => group))
        {
            command.Options.Add(option);
        }
        return command;
    }

    /// <summary>A VCUT mode option: <c>off</c>, <c>paper</c> or <c>exact</c>.</summary>
    public static Option<string?> Vcut(string name, string description, string? defaultMode = null)
    {
        var option = new Option<string?>(name) { Description = description };
        if (defaultMode is not null)
        {
            option.DefaultValueFactory = _ => defaultMode;
        }
        return Choice(option, "off", "paper", "exact");
    }

    /// <summary>A VCUT mode by name.</summary>
    public static VcutMode ParseVcut(string text) => text switch
    {
        "off" => VcutMode.Off,
        "paper" => VcutMode.Paper,
        "exact" => VcutMode.Exact,
        _ => throw new UsageException($"A VCUT mode is 'off', 'paper' or 'exact', got '{text}'."),
    };

    /// <summary>The video options given, validated; with <paramref name="frames"/> for frames when --frames is not given.</summary>
    public static VideoGenerationOptions ReadVideo(ParseResult parse, int? frames = null)
    {
        var options = new VideoGenerationOptions
        {
            Frames = parse.GetValue(Frames) ?? frames,
            Steps = parse.GetValue(Steps),
            Height = parse.GetValue(Height),
            Width = parse.GetValue(Width),
            Fps = parse.GetValue(Fps),
            MotionBucketId = parse.GetValue(MotionBucket),
            NoiseAugStrength = parse.GetValue(NoiseAug),
            MinGuidanceScale = parse.GetValue(MinGuidance),
            MaxGuidanceScale = parse.GetValue(MaxGuidance),
            DecodeChunkSize = parse.GetValue(DecodeChunk),
            Seed = parse.GetValue(Seed),
            StepCacheInterval = parse.GetValue(StepCache),
            GuidanceStepFraction = parse.GetValue(GuidanceFraction),
            GuidanceInterval = parse.GetValue(GuidanceInterval),
        };
        return Validated(options.Validate, options);
    }

    /// <summary>The step-cache branch to open the model with: only when <paramref name="options"/> cache steps.</summary>
    public static int? ReadStepCacheBranch(ParseResult parse, VideoGenerationOptions options)
    {
        var branch = parse.GetValue(StepCacheBranch);
        if (branch < 1)
        {
            throw new UsageException($"--step-cache-branch expects 1 or more resolution levels, got {branch}.");
        }
        return options.StepCacheInterval > 1 ? branch : null;
    }

    /// <summary>The execution options given, validated.</summary>
    public static ExecutionOptions ReadExecution(ParseResult parse)
    {
        var execution = new ExecutionOptions
        {
            Device = parse.GetValue(Device) == "cuda" ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
            CudaDeviceId = parse.GetValue(CudaDevice),
            AllowCpuFallback = parse.GetValue(AllowCpuFallback),
            IntraOpThreads = parse.GetValue(Threads),
        };
        if (execution.IntraOpThreads < 0 || execution.IntraOpThreads > ExecutionOptions.MaxIntraOpThreads)
        {
            throw new UsageException(
                $"--threads {execution.IntraOpThreads} is outside 0 to {ExecutionOptions.MaxIntraOpThreads} ({ExecutionOptions.ThreadsPerProcessor} × the {Environment.ProcessorCount} processor(s) " +
                "this process may use; more threads only contend for the cores); leave it out for one thread per physical core.");
        }
        if (execution.CudaDeviceId < 0)
        {
            throw new UsageException($"--cuda-device expects a device number of 0 or more, got {execution.CudaDeviceId}.");
        }
        return execution;
    }

    /// <summary>How the video file is written: the playback rate is the --fps the model is conditioned on.</summary>
    public static VideoWriteOptions ReadWriting(ParseResult parse, VideoGenerationOptions options)
    {
        var dithering = parse.GetValue(Dither) switch
        {
            "ordered" => GifDithering.Ordered,
            "none" => GifDithering.None,
            _ => GifDithering.FloydSteinberg,
        };
        var writing = new VideoWriteOptions { Fps = options.Fps, GifDithering = dithering, FfmpegPath = parse.GetValue(Ffmpeg) };
        return Validated(writing.Validate, writing);
    }

    /// <summary>--max-megapixels: the largest picture decoded (<see cref="RgbImage.DefaultMaxPixels"/> by default).</summary>
    public static long ReadMaxPixels(ParseResult parse)
    {
        var megapixels = parse.GetValue(MaxMegapixels);
        if (megapixels is null)
        {
            return RgbImage.DefaultMaxPixels;
        }
        if (!(megapixels > 0) || !float.IsFinite(megapixels.Value) || megapixels > 100_000)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--max-megapixels expects a number of megapixels above 0 and at most 100000, got {megapixels}."));
        }
        return Math.Max(1, (long)(megapixels.Value * 1e6));
    }

    /// <summary>Writes <paramref name="document"/> to a temporary file next to <paramref name="path"/> and moves it over the target.</summary>
    public static void WriteJson(string path, object document)
    {
        var target = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllText(temporary, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Restricts a text option to <paramref name="choices"/> (listed in the help and in the error).</summary>
    public static Option<T> Choice<T>(Option<T> option, params string[] choices)
    {
        option.AcceptOnlyFromAmong(choices);
        option.HelpName = string.Join('|', choices);
        return option;
    }

    /// <summary>
    /// A path option: an empty value, or one that looks like a forgotten value followed by an option
    /// (<c>--out --sed 3</c> would otherwise write a folder named <c>--sed</c>), is refused.
    /// </summary>
    public static Option<T> PathOption<T>(Option<T> option)
    {
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.Length == 0)
                {
                    result.AddError($"Option {result.Option.Name} needs a value, got an empty one.");
                }
                else if (token.Value.StartsWith("--", StringComparison.Ordinal) && token.Value.Length > 2)
                {
                    result.AddError($"Option {result.Option.Name} needs a value, but the next word is the option '{token.Value}' " +
                        $"(a value that starts with '--' can be written ./{token.Value}).");
                }
            }
        });
        return option;
    }

    private static T Validated<T>(Action validate, T value)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return value;
    }

    private static string Lower<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    private static string DitherName(GifDithering dithering) => dithering switch
    {
        GifDithering.Ordered => "ordered",
        GifDithering.None => "none",
        _ => "floyd-steinberg",
    };
}
