using System.CommandLine;
using System.Globalization;
using Vcut.Graph.Analysis;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Profiling;

namespace Vcut.Cli;

/// <summary>
/// <c>vcut profile</c>: where one UNet call's time goes by operator type (ONNX Runtime's profiler), its achieved
/// multiply-accumulate rate, and that rate against this machine's GEMM peak measured in the same process.
/// </summary>
internal static class ProfileCommand
{
    private static readonly Option<int?> FramesOption = new("--frames") { Description = "Frames (the model's default)", HelpName = "F" };
    private static readonly Option<int?> HeightOption = new("--height") { Description = "Height in pixels (the model's default)", HelpName = "H" };
    private static readonly Option<int?> WidthOption = new("--width") { Description = "Width in pixels (the model's default)", HelpName = "W" };
    private static readonly Option<bool> NoGuidanceOption = new("--no-guidance") { Description = "One UNet row instead of two" };
    private static readonly Option<int> GemmSizeOption = new("--gemm-size") { Description = "Side of the square MatMul that measures the GEMM peak", HelpName = "N", DefaultValueFactory = _ => 4096 };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("profile",
            "One UNet call profiled by operator type, its achieved G MAC/s (the analyser's MACs over the call's time) and the " +
            "fraction of the GEMM peak (an n×n MatMul in ONNX Runtime, same process, same threads).")
        {
            CliOptions.Model, FramesOption, HeightOption, WidthOption, NoGuidanceOption, GemmSizeOption, CliOptions.Threads,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var directory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var threads = CliOptions.ReadExecution(parse).IntraOpThreads;
        var manifest = ModelManifest.Load(directory);
        var frames = parse.GetValue(FramesOption) ?? manifest.DefaultFrames;
        var height = parse.GetValue(HeightOption) ?? manifest.DefaultHeight;
        var width = parse.GetValue(WidthOption) ?? manifest.DefaultWidth;
        var rows = parse.GetValue(NoGuidanceOption) ? 1 : 2;
        if (frames < 1 || height < 8 || width < 8 || height % 8 != 0 || width % 8 != 0)
        {
            throw new UsageException($"profile needs at least one frame and a size in positive multiples of 8, got {frames} frames of {width}×{height}.");
        }
        var unetPath = manifest.PathOf(directory, ModelNames.UNet);
        var graph = OnnxModelFile.Read(unetPath);
        var shapes = GraphPorts.UNetInputShapes(graph.Graph, rows, frames, height / 8, width / 8);
        var macs = CostAnalyzer.Analyze(graph, shapes);

        Console.Error.WriteLine($"GEMM peak: {parse.GetValue(GemmSizeOption)}³ MatMul …");
        var peak = GemmPeak.Measure(parse.GetValue(GemmSizeOption), runs: 3, threads, cancellationToken);
        Console.Error.WriteLine($"UNet call: {rows} row(s) × {frames} frames at {width}×{height}, profiled …");
        var profile = OperatorProfiler.Profile(unetPath, shapes, threads);
        var achieved = macs.Macs / profile.CallTime.TotalSeconds / 1e9;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GEMM peak ({peak.Size}³ MatMul, fastest of {peak.Runs}): {peak.GigaMacsPerSecond:F1} G MAC/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"UNet call ({manifest.Preset}, {rows} row(s) × {frames} frames, {width}×{height}): {macs.Macs / 1e9:F1} G MACs in {profile.CallTime.TotalSeconds:F2} s " +
            $"= {achieved:F1} G MAC/s, {achieved / peak.GigaMacsPerSecond:P1} of the GEMM peak"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MACs by kind: conv {macs.ByKind["conv"] / 1e9:F1} G, linear {macs.ByKind["linear"] / 1e9:F1} G, attention {macs.ByKind["attention"] / 1e9:F1} G"));
        Console.WriteLine($"{"operator",-28} {"kernels",8} {"time ms",10} {"share",8}");
        foreach (var kind in profile.ByKind)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind.OpType,-28} {kind.Kernels,8} {kind.Time.TotalMilliseconds,10:F1} {kind.Share,8:P1}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel time {profile.KernelTime.TotalMilliseconds:F0} ms of the call's {profile.CallTime.TotalMilliseconds:F0} ms"));
        return 0;
    }
}
