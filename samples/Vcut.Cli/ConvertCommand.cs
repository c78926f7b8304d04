using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;

namespace Vcut.Cli;

/// <summary><c>vcut convert</c>: a diffusers SVD snapshot (safetensors + config.json) to a Vcut model directory.</summary>
internal static class ConvertCommand
{
    private static readonly ConversionOptions Defaults = new();

    private static readonly Option<string> FromOption = CliOptions.PathOption(new Option<string>("--from")
    {
        Description = "A diffusers SVD snapshot: unet/, vae/, image_encoder/ with config.json and safetensors",
        HelpName = "SNAPSHOT_DIR",
        Required = true,
    });
    private static readonly Option<string> OutOption = CliOptions.PathOption(new Option<string>("--out") { Description = "The model directory to write", HelpName = "DIR", Required = true });
    private static readonly Option<bool> Fp16Option = new("--fp16") { Description = "float16 weights and compute behind float32 inputs and outputs" };
    private static readonly Option<string> AttentionOption = CliOptions.Choice(new Option<string>("--attention")
    {
        Description = "How attention is written",
        DefaultValueFactory = _ => Defaults.Attention.ToString().ToLowerInvariant(),
    }, "plain", "fused");
    private static readonly Option<string> ExternalDataOption = CliOptions.Choice(new Option<string>("--external-data")
    {
        Description = "Weights in model.onnx.data next to model.onnx: auto for graphs above 1 GiB",
        DefaultValueFactory = _ => Defaults.ExternalData.ToString().ToLowerInvariant(),
    }, "auto", "always", "never");

    private static readonly Option<string?> UNetOnnxOption = CliOptions.PathOption(new Option<string?>("--unet-onnx")
    {
        Description = "Take the UNet from an ONNX file made elsewhere (torch.onnx.export, the TensorRT repository's unet-temp.opt/model.onnx), " +
            "copied with its external data; its ports (names, float32/float16) go in the manifest",
        HelpName = "FILE.onnx",
    });

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("convert", "Convert a diffusers SVD snapshot (safetensors + config.json) into a model directory, in C#.")
        {
            FromOption, OutOption, UNetOnnxOption, Fp16Option, AttentionOption, ExternalDataOption,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var source = parse.GetValue(FromOption)!;
        var output = parse.GetValue(OutOption)!;
        var unetOnnx = parse.GetValue(UNetOnnxOption);
        var options = new ConversionOptions
        {
            Precision = parse.GetValue(Fp16Option) ? GraphPrecision.Float16 : GraphPrecision.Float32,
            Attention = parse.GetValue(AttentionOption) == "plain" ? AttentionForm.Plain : AttentionForm.Fused,
            ExternalData = parse.GetValue(ExternalDataOption) switch
            {
                "always" => ExternalDataPolicy.Always,
                "never" => ExternalDataPolicy.Never,
                _ => ExternalDataPolicy.Auto,
            },
        };

        var clock = Stopwatch.StartNew();
        var progress = new ConsoleProgress(clock);
        Console.Error.WriteLine($"Converting {Path.GetFullPath(source)} ({(options.Precision == GraphPrecision.Float16 ? "float16" : "float32")}, {options.Attention.ToString().ToLowerInvariant()} attention)");
        ConversionReport report;
        try
        {
            report = unetOnnx is null
                ? CheckpointConverter.Convert(source, output, options, progress, cancellationToken)
                : UNetImporter.Convert(source, unetOnnx, output, options, progress, cancellationToken);
        }
        finally
        {
            progress.Finish();
        }

        var m = report.Manifest;
        Console.WriteLine($"Wrote {Path.GetFullPath(output)}: preset {m.Preset}, {m.DefaultFrames} frames of {m.DefaultWidth}×{m.DefaultHeight} by default, {FormatSeconds(clock.Elapsed)}");
        foreach (var (part, file) in report.SourceFiles)
        {
            Console.WriteLine($"  read  {part,-14} {file}");
        }
        foreach (var graph in report.Graphs)
        {
            var data = graph.ExternalDataBytes > 0 ? $" + model.onnx.data {Size(graph.ExternalDataBytes)}" : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  wrote {graph.Model,-14} {graph.Parameters,15:N0} parameters   model.onnx {Size(graph.ModelFileBytes)}{data}"));
        }
        if (report.UnusedTensors.Count > 0)
        {
            Console.WriteLine($"  {report.UnusedTensors.Count} tensor(s) of the snapshot are not used by any graph: {string.Join(", ", report.UnusedTensors.Take(5))}{(report.UnusedTensors.Count > 5 ? ", …" : "")}");
        }
        return 0;
    }

    private static string Size(long bytes) => bytes >= 1L << 30
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB");

    private static string FormatSeconds(TimeSpan time) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:F1} s");

    /// <summary>One line per graph, redrawn in place on a terminal at most ten times a second; start and end lines otherwise.</summary>
    private sealed class ConsoleProgress(Stopwatch clock) : IProgress<ModelBuildProgress>
    {
        private readonly bool _interactive = !Console.IsErrorRedirected;
        private TimeSpan _lastDraw = TimeSpan.MinValue;
        private ModelBuildProgress? _current;
        private TimeSpan _modelStart;

        public void Report(ModelBuildProgress value)
        {
            if (value.Parameter is null)
            {
                EndLine();
                _modelStart = clock.Elapsed;
            }
            _current = value;
            var done = value.ElementsDone == value.ElementsTotal;
            if (_interactive && (done || value.Parameter is null || clock.Elapsed - _lastDraw > TimeSpan.FromMilliseconds(100)))
            {
                Console.Error.Write("\r" + Line(value).PadRight(100));
                _lastDraw = clock.Elapsed;
            }
            else if (!_interactive && value.Parameter is null)
            {
                Console.Error.WriteLine(Line(value));
            }
        }

        public void Finish() => EndLine();

        private void EndLine()
        {
            if (_current is not { } last)
            {
                return;
            }
            if (_interactive)
            {
                Console.Error.WriteLine("\r" + Line(last).PadRight(100));
            }
            else
            {
                Console.Error.WriteLine(Line(last));
            }
            _current = null;
        }

        private string Line(ModelBuildProgress p)
        {
            const int width = 30;
            var fraction = p.ElementsTotal == 0 ? 1.0 : p.ElementsDone / (double)p.ElementsTotal;
            var bar = new string('#', (int)(fraction * width)).PadRight(width, '.');
            var seconds = (clock.Elapsed - _modelStart).TotalSeconds;
            var rate = seconds > 0.5 ? string.Create(CultureInfo.InvariantCulture, $"  {p.BytesWritten / seconds / (1 << 20):F0} MiB/s") : "";
            var where = p.ExternalData ? "model.onnx.data" : "inline";
            return string.Create(CultureInfo.InvariantCulture,
                $"  [{p.ModelIndex + 1}/{p.ModelCount}] {p.Model,-14} [{bar}] {fraction,4:P0}  {Size(p.BytesWritten)} {where}{rate}");
        }
    }
}
