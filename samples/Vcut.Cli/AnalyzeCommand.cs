using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;
using Onnx;

namespace Vcut.Cli;

/// <summary><c>vcut analyze</c>: parameters and MACs of a UNet in the three VCUT modes.</summary>
internal static class AnalyzeCommand
{
    private static readonly Option<string?> ModelOption = CliOptions.PathOption(new Option<string?>("--model") { Description = "A model directory of the original UNet", HelpName = "DIR" });
    private static readonly Option<string?> PresetOption = new("--preset") { Description = $"A preset, built structure-only: {string.Join(", ", ModelPreset.All.Select(p => p.Name))}", HelpName = "P" };
    private static readonly Option<int?> FramesOption = new("--frames") { Description = "Frames (the model's default)", HelpName = "F" };
    private static readonly Option<int?> HeightOption = new("--height") { Description = "Height in pixels (the model's default)", HelpName = "H" };
    private static readonly Option<int?> WidthOption = new("--width") { Description = "Width in pixels (the model's default)", HelpName = "W" };
    private static readonly Option<int> VideosOption = new("--videos") { Description = "Videos per UNet call", HelpName = "B", DefaultValueFactory = _ => 1 };
    private static readonly Option<bool> NoGuidanceOption = new("--no-guidance") { Description = "One UNet row per video instead of two" };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print JSON" };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("analyze", "Parameters and multiply-accumulates per UNet call and per video for VCUT off, paper and exact. Give exactly one of --model or --preset.")
        {
            ModelOption, PresetOption, FramesOption, HeightOption, WidthOption, CliOptions.Steps, VideosOption, NoGuidanceOption, JsonOption,
        };
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var modelDirectory = parse.GetValue(ModelOption);
        var presetName = parse.GetValue(PresetOption);
        if ((modelDirectory is null) == (presetName is null))
        {
            throw new UsageException("analyze takes exactly one of --model DIR or --preset P.");
        }
        ModelProto unet;
        int frames, height, width;
        if (presetName is not null)
        {
            var preset = ModelPreset.Get(presetName);
            unet = SvdModelBuilder.BuildGraph(ModelNames.UNet, new SvdBuildOptions(preset, StructureOnlyWeightSource.Instance, SvdBuildOptions.DefaultAttention));
            (frames, height, width) = (preset.DefaultFrames, preset.DefaultHeight, preset.DefaultWidth);
        }
        else
        {
            var manifest = ModelManifest.Load(modelDirectory!);
            if (manifest.Vcut != VcutMode.Off)
            {
                throw new InvalidDataException($"'{modelDirectory}' holds a VCUT UNet; analyze a directory of the original UNet.");
            }
            unet = OnnxModelFile.Read(manifest.PathOf(modelDirectory!, ModelNames.UNet));
            (frames, height, width) = (manifest.DefaultFrames, manifest.DefaultHeight, manifest.DefaultWidth);
        }
        frames = parse.GetValue(FramesOption) ?? frames;
        height = parse.GetValue(HeightOption) ?? height;
        width = parse.GetValue(WidthOption) ?? width;
        var steps = parse.GetValue(CliOptions.Steps);
        var videos = parse.GetValue(VideosOption);
        var guidance = !parse.GetValue(NoGuidanceOption);
        var json = parse.GetValue(JsonOption);
        if (height % 8 != 0 || width % 8 != 0)
        {
            throw new UsageException($"--height and --width must be multiples of 8, got {height} and {width}.");
        }

        var report = VcutModeComparison.Compare(unet, videos, guidance, frames, height / 8, width / 8, steps);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                frames, height, width, steps, videos, guidance, unetRows = report.Rows,
                crossAttentionShareOfUNetMacs = report.CrossAttentionShare,
                modes = report.Modes.ToDictionary(m => m.Mode.ToString().ToLowerInvariant(), m => new
                {
                    unetParameters = m.UNetParameters,
                    cacheParameters = m.CacheParameters,
                    parameters = m.UNetParameters + m.CacheParameters,
                    macsPerUNetCall = m.UNetCall.Macs,
                    macsPerUNetCallByKind = m.UNetCall.ByKind,
                    cacheMacsPerVideo = m.CacheMacs,
                    macsPerVideo = m.MacsPerVideo,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        var off = report.Mode(VcutMode.Off);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"UNet, {frames} frames at {width}×{height} (latent {width / 8}×{height / 8}), {steps} steps, {report.Rows} UNet rows per call ({(guidance ? "guidance on" : "guidance off")})"));
        Console.WriteLine($"{"mode",-6} {"UNet params",15} {"cache params",13} {"GMACs/call",12} {"linear",10} {"attention",10} {"conv",10} {"TMACs/video",12} {"vs off",8}");
        foreach (var m in report.Modes)
        {
            double G(long v) => v / 1e9;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m.Mode.ToString().ToLowerInvariant(),-6} {m.UNetParameters,15:N0} {m.CacheParameters,13:N0} {G(m.UNetCall.Macs),12:F1} {G(m.UNetCall.ByKind["linear"]),10:F1} {G(m.UNetCall.ByKind["attention"]),10:F1} {G(m.UNetCall.ByKind["conv"]),10:F1} {m.MacsPerVideo / 1e12,12:F2} {(double)m.MacsPerVideo / off.MacsPerVideo - 1,8:P2}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Cross-attention share of a UNet call's MACs: {report.CrossAttentionShare:P2}; removed per video: {(off.MacsPerVideo - report.Mode(VcutMode.Exact).MacsPerVideo) / 1e12:F2} T MACs (exact), {(off.MacsPerVideo - report.Mode(VcutMode.Paper).MacsPerVideo) / 1e12:F2} T MACs (paper)"));
        return 0;
    }
}
