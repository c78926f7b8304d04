using System.Numerics.Tensors;

namespace Vcut.Runtime.Quality;

/// <summary>
/// Finds the global camera move (zoom s, shift dx, dy) that best maps an input picture onto a frame, on luma
/// pyramids: a grid over the whole range at the coarsest level, local pattern-search refinement of the best few
/// there, then refinement level by level down to full resolution. The objective is the mean squared luma error over
/// the valid mask (the pixels whose source lies inside the input).
/// </summary>
internal sealed class CameraMoveSearch
{
    /// <summary>The smallest zoom searched.</summary>
    public const double MinZoom = 0.8;

    /// <summary>The largest zoom searched.</summary>
    public const double MaxZoom = 1.6;

    /// <summary>The largest shift searched, as a fraction of the width (dx) or height (dy).</summary>
    public const double MaxShiftFraction = 0.25;

    /// <summary>Moves whose valid mask covers less than this share of the frame are not considered.</summary>
    public const double MinValidFraction = 0.25;

    /// <summary>The zoom grid's spacing at the coarsest level.</summary>
    private const double ZoomGridStep = 0.1;

    /// <summary>The coarsest level's longer side is at most this many pixels (unless the shorter one would drop below <see cref="MinLevelSide"/>).</summary>
    private const int CoarsestSide = 32;

    private const int MinLevelSide = 8;

    /// <summary>How many of the grid's best candidates are refined at the coarsest level.</summary>
    private const int Candidates = 3;

    private readonly int _width;
    private readonly int _height;
    private readonly LumaPyramid _input;

    /// <summary>Prepares the search for frames matched against <paramref name="input"/> (planar RGB, 3 × H × W).</summary>
    public CameraMoveSearch(ReadOnlySpan<float> input, int width, int height)
    {
        _width = width;
        _height = height;
        _input = LumaPyramid.Build(input, width, height);
    }

    /// <summary>The best move of the input onto <paramref name="frame"/> (planar RGB of the same size).</summary>
    public CameraMove Fit(ReadOnlySpan<float> frame)
    {
        var target = LumaPyramid.Build(frame, _width, _height);
        var coarsest = _input.Count - 1;
        var maxDx = MaxShiftFraction * _width;
        var maxDy = MaxShiftFraction * _height;
        var scale = 1 << coarsest;

        // The grid: zooms 0.8, 0.9 … 1.6 (1 exactly among them), shifts every coarse pixel within ±25 %.
        var kx = (int)Math.Floor(maxDx / scale);
        var ky = (int)Math.Floor(maxDy / scale);
        var best = new List<(double Error, CameraMove Move)>();
        var first = (int)Math.Round((MinZoom - 1) / ZoomGridStep);
        var last = (int)Math.Round((MaxZoom - 1) / ZoomGridStep);
        for (var j = first; j <= last; j++)
        {
            var zoom = 1 + j * ZoomGridStep;
            for (var iy = -ky; iy <= ky; iy++)
            {
                for (var ix = -kx; ix <= kx; ix++)
                {
                    var move = new CameraMove(zoom, ix * scale, iy * scale);
                    var error = Error(target, coarsest, move);
                    if (double.IsFinite(error))
                    {
                        Keep(best, error, move);
                    }
                }
            }
        }
        if (best.Count == 0)
        {
            return CameraMove.Identity;
        }

        // The best few, refined at the coarsest level; the winner refined level by level to full resolution.
        var winner = best.Select(c => Refine(target, coarsest, c.Move, c.Error)).MinBy(r => r.Error);
        for (var level = coarsest - 1; level >= 0; level--)
        {
            winner = Refine(target, level, winner.Move, Error(target, level, winner.Move));
        }
        return winner.Move;
    }

    /// <summary>Keeps the <see cref="Candidates"/> lowest errors; ties go to the smaller displacement, so a flat picture fits no move.</summary>
    private void Keep(List<(double Error, CameraMove Move)> best, double error, CameraMove move)
    {
        var index = best.FindIndex(b => Better(error, move, b.Error, b.Move));
        if (index < 0)
        {
            if (best.Count < Candidates)
            {
                best.Add((error, move));
            }
            return;
        }
        best.Insert(index, (error, move));
        if (best.Count > Candidates)
        {
            best.RemoveAt(best.Count - 1);
        }
    }

    private bool Better(double error, CameraMove move, double otherError, CameraMove other) =>
        error < otherError || (error == otherError && move.Displacement(_width, _height) < other.Displacement(_width, _height));

    /// <summary>
    /// Pattern search at <paramref name="level"/>: try ± one step along each parameter, move to the best improvement,
    /// halve the steps when none improves, until the shift step is below 1/8 of a level pixel (1/64 at full resolution).
    /// </summary>
    private (double Error, CameraMove Move) Refine(LumaPyramid target, int level, CameraMove start, double startError)
    {
        var scale = (double)(1 << level);
        var halfDiagonal = 0.5 * Math.Sqrt((double)_width * _width + (double)_height * _height);
        var shiftStep = 0.5 * scale;
        var minShiftStep = level == 0 ? 1.0 / 64 : scale / 8;
        var move = start;
        var error = startError;
        for (var evaluations = 0; shiftStep >= minShiftStep && evaluations < 400;)
        {
            var zoomStep = shiftStep / halfDiagonal;
            var bestMove = move;
            var bestError = error;
            for (var axis = 0; axis < 3; axis++)
            {
                for (var sign = -1; sign <= 1; sign += 2)
                {
                    var candidate = axis switch
                    {
                        0 => move with { Zoom = Math.Clamp(move.Zoom + sign * zoomStep, MinZoom, MaxZoom) },
                        1 => move with { ShiftX = Math.Clamp(move.ShiftX + sign * shiftStep, -MaxShiftFraction * _width, MaxShiftFraction * _width) },
                        _ => move with { ShiftY = Math.Clamp(move.ShiftY + sign * shiftStep, -MaxShiftFraction * _height, MaxShiftFraction * _height) },
                    };
                    if (candidate == move)
                    {
                        continue;
                    }
                    var candidateError = Error(target, level, candidate);
                    evaluations++;
                    if (candidateError < bestError)
                    {
                        bestError = candidateError;
                        bestMove = candidate;
                    }
                }
            }
            if (bestMove == move)
            {
                shiftStep /= 2;
            }
            else
            {
                move = bestMove;
                error = bestError;
            }
        }
        return (error, move);
    }

    /// <summary>The masked mean squared luma error of the moved input against the frame at one level; +∞ when too few pixels are valid.</summary>
    private double Error(LumaPyramid target, int level, CameraMove move)
    {
        var scale = (double)(1 << level);
        return MaskedError(_input.Levels[level], target.Levels[level], _input.Widths[level], _input.Heights[level],
            move.Zoom, move.ShiftX / scale, move.ShiftY / scale);
    }

    /// <summary>
    /// The mean over the valid pixels of (target − bilinear sample of source at the move's source point)², for one
    /// plane of <paramref name="width"/> × <paramref name="height"/>; +∞ when fewer than <see cref="MinValidFraction"/> are valid.
    /// </summary>
    internal static double MaskedError(float[] source, float[] target, int width, int height, double zoom, double dx, double dy)
    {
        var cx = (width - 1) / 2.0;
        var cy = (height - 1) / 2.0;
        var inverse = 1 / zoom;
        var offset = cx - cx * inverse - dx;
        var sum = 0.0;
        var valid = 0;
        for (var y = 0; y < height; y++)
        {
            var v = (y - cy) * inverse + cy - dy;
            if (!(v >= 0 && v <= height - 1))
            {
                continue;
            }
            var y0 = (int)v;
            var fy = (float)(v - y0);
            var row0 = y0 * width;
            var row1 = Math.Min(y0 + 1, height - 1) * width;
            var rowSum = 0f;
            for (var x = 0; x < width; x++)
            {
                var u = x * inverse + offset;
                if (!(u >= 0 && u <= width - 1))
                {
                    continue;
                }
                var x0 = (int)u;
                var fx = (float)(u - x0);
                var x1 = Math.Min(x0 + 1, width - 1);
                var top = source[row0 + x0] + fx * (source[row0 + x1] - source[row0 + x0]);
                var bottom = source[row1 + x0] + fx * (source[row1 + x1] - source[row1 + x0]);
                var difference = target[y * width + x] - (top + fy * (bottom - top));
                rowSum += difference * difference;
                valid++;
            }
            sum += rowSum;
        }
        return valid >= MinValidFraction * width * height && valid > 0 ? sum / valid : double.PositiveInfinity;
    }

    /// <summary>
    /// Warps <paramref name="planar"/> (<paramref name="channels"/> planes of <paramref name="width"/> × <paramref name="height"/>)
    /// by <paramref name="move"/> with bilinear sampling into <paramref name="output"/>, and writes the valid mask (1 where the
    /// source point lies inside the picture, else 0, one value per pixel) into <paramref name="mask"/>; invalid pixels are 0.
    /// Returns the number of valid pixels.
    /// </summary>
    internal static int Warp(ReadOnlySpan<float> planar, int width, int height, int channels, CameraMove move, Span<float> output, Span<float> mask)
    {
        var plane = width * height;
        var cx = (width - 1) / 2.0;
        var cy = (height - 1) / 2.0;
        var inverse = 1 / move.Zoom;
        var offset = cx - cx * inverse - move.ShiftX;
        output[..(channels * plane)].Clear();
        mask[..plane].Clear();
        var valid = 0;
        for (var y = 0; y < height; y++)
        {
            var v = (y - cy) * inverse + cy - move.ShiftY;
            if (!(v >= 0 && v <= height - 1))
            {
                continue;
            }
            var y0 = (int)v;
            var fy = (float)(v - y0);
            var y1 = Math.Min(y0 + 1, height - 1);
            for (var x = 0; x < width; x++)
            {
                var u = x * inverse + offset;
                if (!(u >= 0 && u <= width - 1))
                {
                    continue;
                }
                var x0 = (int)u;
                var fx = (float)(u - x0);
                var x1 = Math.Min(x0 + 1, width - 1);
                for (var c = 0; c < channels; c++)
                {
                    var p = planar.Slice(c * plane, plane);
                    var top = p[y0 * width + x0] + fx * (p[y0 * width + x1] - p[y0 * width + x0]);
                    var bottom = p[y1 * width + x0] + fx * (p[y1 * width + x1] - p[y1 * width + x0]);
                    output[c * plane + y * width + x] = top + fy * (bottom - top);
                }
                mask[y * width + x] = 1;
                valid++;
            }
        }
        return valid;
    }

    /// <summary>Rec. 601 luma of a planar RGB picture: 0.299 R + 0.587 G + 0.114 B.</summary>
    internal static float[] Luma(ReadOnlySpan<float> planar, int width, int height)
    {
        var plane = width * height;
        var luma = new float[plane];
        TensorPrimitives.Multiply(planar[..plane], 0.299f, luma);
        TensorPrimitives.MultiplyAdd(planar.Slice(plane, plane), 0.587f, luma, luma);
        TensorPrimitives.MultiplyAdd(planar.Slice(2 * plane, plane), 0.114f, luma, luma);
        return luma;
    }

    /// <summary>A luma picture and its 2× box-filtered reductions down to about <see cref="CoarsestSide"/> pixels.</summary>
    private sealed class LumaPyramid
    {
        public List<float[]> Levels { get; } = [];

        public List<int> Widths { get; } = [];

        public List<int> Heights { get; } = [];

        public int Count => Levels.Count;

        public static LumaPyramid Build(ReadOnlySpan<float> planar, int width, int height)
        {
            var pyramid = new LumaPyramid();
            var luma = Luma(planar, width, height);
            pyramid.Add(luma, width, height);
            while (Math.Max(width, height) > CoarsestSide && Math.Min(width, height) / 2 >= MinLevelSide)
            {
                var w = width / 2;
                var h = height / 2;
                var reduced = new float[w * h];
                for (var y = 0; y < h; y++)
                {
                    var a = 2 * y * width;
                    var b = a + width;
                    for (var x = 0; x < w; x++)
                    {
                        reduced[y * w + x] = 0.25f * (luma[a + 2 * x] + luma[a + 2 * x + 1] + luma[b + 2 * x] + luma[b + 2 * x + 1]);
                    }
                }
                luma = reduced;
                width = w;
                height = h;
                pyramid.Add(luma, width, height);
            }
            return pyramid;
        }

        private void Add(float[] luma, int width, int height)
        {
            Levels.Add(luma);
            Widths.Add(width);
            Heights.Add(height);
        }
    }
}
