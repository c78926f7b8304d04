namespace Vcut.Runtime.Video;

/// <summary>
/// One colour table for a whole video (so colours do not flicker between frames): the exact colours when the video
/// has at most 256, otherwise a median cut of all its pixels; with a nearest-colour search.
/// </summary>
internal sealed class GifPalette
{
    private const int MaxColors = 256;

    // The colours sorted by green, for the nearest-colour search; _order maps back to palette indices.
    private readonly int[] _r;
    private readonly int[] _g;
    private readonly int[] _b;
    private readonly byte[] _order;

    private GifPalette(byte[] rgb, bool exact)
    {
        Rgb = rgb;
        IsExact = exact;
        var count = rgb.Length / 3;
        var order = Enumerable.Range(0, count).OrderBy(i => rgb[3 * i + 1]).ThenBy(i => i).ToArray();
        _order = order.Select(i => (byte)i).ToArray();
        _r = order.Select(i => (int)rgb[3 * i]).ToArray();
        _g = order.Select(i => (int)rgb[3 * i + 1]).ToArray();
        _b = order.Select(i => (int)rgb[3 * i + 2]).ToArray();
    }

    /// <summary>The colours, R G B per entry, 1 to 256 entries.</summary>
    public byte[] Rgb { get; }

    /// <summary>Entries.</summary>
    public int Count => Rgb.Length / 3;

    /// <summary>Whether every pixel of the video is one of the colours (no dithering needed, lossless).</summary>
    public bool IsExact { get; }

    /// <summary>Builds the palette of frames given as interleaved 8-bit RGB.</summary>
    public static GifPalette Build(IReadOnlyList<byte[]> frames)
    {
        var exact = ExactColors(frames);
        return exact is not null ? new GifPalette(exact, exact: true) : new GifPalette(MedianCut(frames), exact: false);
    }

    /// <summary>The index of the palette colour nearest to (r, g, b) in squared RGB distance.</summary>
    public int Nearest(int r, int g, int b)
    {
        var n = _g.Length;
        // Start at the first colour with green ≥ g and walk outwards; a colour whose green alone is farther than the
        // best match so far cannot win, and neither can any beyond it in that direction.
        int lo = 0, hi = n;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_g[mid] < g)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        var up = lo;
        var down = lo - 1;
        var best = int.MaxValue;
        var bestIndex = 0;
        while (up < n || down >= 0)
        {
            if (up < n)
            {
                var dg = _g[up] - g;
                if (dg * dg >= best)
                {
                    up = n;
                }
                else
                {
                    var dr = _r[up] - r;
                    var db = _b[up] - b;
                    var d = dr * dr + dg * dg + db * db;
                    if (d < best)
                    {
                        best = d;
                        bestIndex = up;
                    }
                    up++;
                }
            }
            if (down >= 0)
            {
                var dg = g - _g[down];
                if (dg * dg >= best)
                {
                    down = -1;
                }
                else
                {
                    var dr = _r[down] - r;
                    var db = _b[down] - b;
                    var d = dr * dr + dg * dg + db * db;
                    if (d < best)
                    {
                        best = d;
                        bestIndex = down;
                    }
                    down--;
                }
            }
        }
        return _order[bestIndex];
    }

    /// <summary>The median distance from a colour to its nearest other colour: the step ordered dithering spans.</summary>
    public double TypicalSpacing()
    {
        var count = Count;
        if (count < 2)
        {
            return 0;
        }
        var nearest = new double[count];
        for (var i = 0; i < count; i++)
        {
            var best = double.MaxValue;
            for (var j = 0; j < count; j++)
            {
                if (i == j)
                {
                    continue;
                }
                double dr = Rgb[3 * i] - Rgb[3 * j], dg = Rgb[3 * i + 1] - Rgb[3 * j + 1], db = Rgb[3 * i + 2] - Rgb[3 * j + 2];
                best = Math.Min(best, dr * dr + dg * dg + db * db);
            }
            nearest[i] = Math.Sqrt(best);
        }
        Array.Sort(nearest);
        return nearest[count / 2];
    }

    private static byte[]? ExactColors(IReadOnlyList<byte[]> frames)
    {
        var colors = new HashSet<int>();
        foreach (var frame in frames)
        {
            for (var i = 0; i < frame.Length; i += 3)
            {
                if (colors.Add((frame[i] << 16) | (frame[i + 1] << 8) | frame[i + 2]) && colors.Count > MaxColors)
                {
                    return null;
                }
            }
        }
        // Sorted, so the palette does not depend on hash set order.
        var sorted = colors.Order().ToArray();
        var rgb = new byte[3 * sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            rgb[3 * i] = (byte)(sorted[i] >> 16);
            rgb[3 * i + 1] = (byte)(sorted[i] >> 8);
            rgb[3 * i + 2] = (byte)sorted[i];
        }
        return rgb;
    }

    /// <summary>
    /// Heckbert's median cut over a 5-bit-per-channel histogram of every pixel: the box with the largest
    /// population × longest side is split at the population median of that side until there are 256 boxes; each
    /// colour is the exact mean of its box's pixels (the histogram keeps full-precision sums).
    /// </summary>
    private static byte[] MedianCut(IReadOnlyList<byte[]> frames)
    {
        var count = new long[1 << 15];
        var sum = new long[3 << 15];
        foreach (var frame in frames)
        {
            for (var i = 0; i < frame.Length; i += 3)
            {
                var bin = ((frame[i] >> 3) << 10) | ((frame[i + 1] >> 3) << 5) | (frame[i + 2] >> 3);
                count[bin]++;
                sum[3 * bin] += frame[i];
                sum[3 * bin + 1] += frame[i + 1];
                sum[3 * bin + 2] += frame[i + 2];
            }
        }
        var bins = Enumerable.Range(0, count.Length).Where(b => count[b] > 0).ToArray();
        var boxes = new List<(int Start, int End)> { (0, bins.Length) };
        while (boxes.Count < MaxColors)
        {
            var chosen = -1;
            var chosenScore = 0.0;
            var chosenAxis = 0;
            for (var i = 0; i < boxes.Count; i++)
            {
                var (axis, length, population) = Measure(bins, count, boxes[i]);
                var score = (double)population * length;
                if (length > 0 && score > chosenScore)
                {
                    chosen = i;
                    chosenScore = score;
                    chosenAxis = axis;
                }
            }
            if (chosen < 0)
            {
                break; // every box is a single histogram bin
            }
            var (start, end) = boxes[chosen];
            var shift = 10 - 5 * chosenAxis;
            Array.Sort(bins, start, end - start, Comparer<int>.Create((a, b) =>
            {
                var c = ((a >> shift) & 31).CompareTo((b >> shift) & 31);
                return c != 0 ? c : a.CompareTo(b);
            }));
            long total = 0;
            for (var i = start; i < end; i++)
            {
                total += count[bins[i]];
            }
            // The first split point where half the population is reached, kept inside so both halves have a bin.
            var split = start + 1;
            long running = count[bins[start]];
            while (split < end - 1 && 2 * running < total)
            {
                running += count[bins[split]];
                split++;
            }
            boxes[chosen] = (start, split);
            boxes.Add((split, end));
        }
        var rgb = new byte[3 * boxes.Count];
        for (var i = 0; i < boxes.Count; i++)
        {
            long n = 0, r = 0, g = 0, b = 0;
            for (var j = boxes[i].Start; j < boxes[i].End; j++)
            {
                var bin = bins[j];
                n += count[bin];
                r += sum[3 * bin];
                g += sum[3 * bin + 1];
                b += sum[3 * bin + 2];
            }
            rgb[3 * i] = (byte)((r + n / 2) / n);
            rgb[3 * i + 1] = (byte)((g + n / 2) / n);
            rgb[3 * i + 2] = (byte)((b + n / 2) / n);
        }
        return rgb;
    }

    private static (int Axis, int Length, long Population) Measure(int[] bins, long[] count, (int Start, int End) box)
    {
        Span<int> min = [31, 31, 31];
        Span<int> max = [0, 0, 0];
        long population = 0;
        for (var i = box.Start; i < box.End; i++)
        {
            var bin = bins[i];
            population += count[bin];
            for (var axis = 0; axis < 3; axis++)
            {
                var v = (bin >> (10 - 5 * axis)) & 31;
                min[axis] = Math.Min(min[axis], v);
                max[axis] = Math.Max(max[axis], v);
            }
        }
        var best = 0;
        for (var axis = 1; axis < 3; axis++)
        {
            if (max[axis] - min[axis] > max[best] - min[best])
            {
                best = axis;
            }
        }
        return (best, max[best] - min[best], population);
    }
}
