using System.Globalization;
using ScottPlot;

namespace Vcut.Training.Reporting;

/// <summary>The loss curve of a run (its <c>loss.csv</c>) as a PNG for the model card: one panel per stage.</summary>
public static class LossPlot
{
    /// <summary>One row of <c>loss.csv</c>.</summary>
    /// <param name="Stage">vae or unet.</param>
    /// <param name="Step">Optimizer step within the stage.</param>
    /// <param name="Loss">The step's training loss.</param>
    public readonly record struct LossRow(string Stage, int Step, double Loss);

    /// <summary>Reads a run's <c>loss.csv</c> (header <c>stage,step,loss,seconds</c>).</summary>
    /// <exception cref="InvalidDataException">A row that does not have that form; the message names the line.</exception>
    public static IReadOnlyList<LossRow> Read(string csvPath)
    {
        var rows = new List<LossRow>();
        var lines = File.ReadAllLines(csvPath);
        for (var i = 1; i < lines.Length; i++)
        {
            var cells = lines[i].Split(',');
            if (cells.Length < 3
                || !int.TryParse(cells[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step)
                || !double.TryParse(cells[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var loss))
            {
                throw new InvalidDataException($"'{csvPath}' line {i + 1}: expected 'stage,step,loss,seconds', got '{lines[i]}'.");
            }
            rows.Add(new LossRow(cells[0], step, loss));
        }
        return rows;
    }

    /// <summary>
    /// Writes the loss per step (light) and its moving average over <paramref name="window"/> steps (dark), one panel
    /// per stage side by side, to <paramref name="pngPath"/>. A resumed run logs a step again; the last entry wins.
    /// </summary>
    public static void Write(IReadOnlyList<LossRow> rows, string pngPath, int window = 50)
    {
        var stages = rows.Select(r => r.Stage).Distinct().ToList();
        if (stages.Count == 0)
        {
            throw new InvalidDataException("The loss log has no rows to plot.");
        }
        var multiplot = new Multiplot();
        multiplot.AddPlots(stages.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        for (var s = 0; s < stages.Count; s++)
        {
            var points = rows.Where(r => r.Stage == stages[s]).GroupBy(r => r.Step).Select(g => g.Last()).OrderBy(r => r.Step).ToList();
            var steps = points.Select(p => (double)p.Step).ToArray();
            var losses = points.Select(p => p.Loss).ToArray();
            var plot = multiplot.GetPlot(s);
            var raw = plot.Add.ScatterLine(steps, losses);
            raw.LineWidth = 1;
            raw.Color = Colors.SteelBlue.WithAlpha(0.35);
            raw.LegendText = "per step";
            var smooth = plot.Add.ScatterLine(steps, MovingAverage(losses, window));
            smooth.LineWidth = 2;
            smooth.Color = Colors.Navy;
            smooth.LegendText = $"mean of {window} steps";
            plot.Axes.SetLimitsY(0, Percentile(losses, 0.99) * 1.1);
            plot.Title($"{stages[s]} stage");
            plot.XLabel("optimizer step");
            plot.YLabel("training loss");
            plot.ShowLegend(Alignment.UpperRight);
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(pngPath))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, "." + Path.GetFileName(pngPath) + ".tmp");
        multiplot.SavePng(temporary, 560 * stages.Count, 400);
        File.Move(temporary, pngPath, overwrite: true);
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window)
            {
                sum -= values[i - window];
            }
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }

    private static double Percentile(double[] values, double fraction)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)(fraction * (sorted.Length - 1)), 0, sorted.Length - 1)];
    }
}
