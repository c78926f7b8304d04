using Microsoft.ML.Data;
using Vcut.MLNet;
using Vcut.Runtime.Video;

namespace Microsoft.ML;

/// <summary>
/// A video column's rows as videos: <c>videos.GetVideos("Video")</c> streams <see cref="VcutVideo"/>s (frames as
/// <c>MLImage</c>s, files), <c>videos.SaveVideos("Video", folder)</c> writes one GIF, MP4 or folder of PNG frames per row.
/// Each reads one row at a time, so a dataset streams through (ML.NET's <c>ConvertToImage</c> takes one image per row,
/// not a video's frames).
/// </summary>
public static class VcutDataExtensions
{
    /// <summary>The videos of column <paramref name="columnName"/>, one per row, read lazily with one cursor.</summary>
    /// <param name="data">The output of a Vcut pipeline.</param>
    /// <param name="columnName">A video column: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">No such column.</exception>
    /// <exception cref="ArgumentException">The column is not a video column.</exception>
    public static IEnumerable<VcutVideo> GetVideos(this IDataView data, string columnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var column = data.Schema[columnName];
        var (frames, height, width) = VcutVideo.Dimensions(column.Type, $"column '{columnName}'");
        return Read(data, column, frames, height, width);
    }

    private static IEnumerable<VcutVideo> Read(IDataView data, DataViewSchema.Column column, int frames, int height, int width)
    {
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> values = default;
        while (cursor.MoveNext())
        {
            getter(ref values);
            var pixels = new float[values.Length];
            values.CopyTo(pixels);
            yield return new VcutVideo(pixels, frames, height, width);
        }
    }

    /// <summary>
    /// Writes the video of every row of <paramref name="columnName"/> into <paramref name="outputFolder"/>, one row at a
    /// time: named after the row's <paramref name="fileNameColumnName"/> value (a text column, e.g. the image path: its
    /// file name without extension), else <c>video_000</c>, <c>video_001</c>…; a name met twice gets the row number.
    /// Returns the full paths written, in row order.
    /// </summary>
    /// <param name="data">The output of a Vcut pipeline.</param>
    /// <param name="columnName">A video column.</param>
    /// <param name="outputFolder">Where to write (created if missing).</param>
    /// <param name="fileNameColumnName">A text column naming each row's file; null = by row number.</param>
    /// <param name="extension"><c>.gif</c> (animated GIF), <c>.mp4</c> (through ffmpeg) or empty (a folder of PNG frames per row).</param>
    /// <param name="fps">Playback frames per second.</param>
    /// <param name="cancellationToken">Stops between and inside rows.</param>
    /// <exception cref="ArgumentOutOfRangeException">No such column.</exception>
    /// <exception cref="ArgumentException">Not a video column, a naming column that is not text, or an unknown extension.</exception>
    /// <exception cref="InvalidOperationException">MP4 without ffmpeg (checked before any video is computed).</exception>
    public static IReadOnlyList<string> SaveVideos(this IDataView data, string columnName, string outputFolder, string? fileNameColumnName = null,
        string extension = ".gif", double fps = 7, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        ArgumentNullException.ThrowIfNull(extension);
        var video = data.Schema[columnName];
        var (frames, height, width) = VcutVideo.Dimensions(video.Type, $"column '{columnName}'");
        DataViewSchema.Column? name = fileNameColumnName is null ? null : data.Schema[fileNameColumnName];
        if (name is { } n && n.Type is not TextDataViewType)
        {
            throw new ArgumentException($"Column '{fileNameColumnName}' is {n.Type}; the file names come from a text column.", nameof(fileNameColumnName));
        }
        var options = new VideoWriteOptions { Fps = fps };
        var folder = Path.GetFullPath(outputFolder);
        VideoFileWriter.EnsureCanWrite(Path.Combine(folder, "video" + extension), options);
        Directory.CreateDirectory(folder);

        var written = new List<string>();
        var used = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using var cursor = data.GetRowCursor(name is { } c ? [video, c] : [video]);
        var pixels = cursor.GetGetter<VBuffer<float>>(video);
        var names = name is { } column ? cursor.GetGetter<ReadOnlyMemory<char>>(column) : null;
        VBuffer<float> values = default;
        ReadOnlyMemory<char> text = default;
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stem = $"video_{cursor.Position:000}";
            if (names is not null)
            {
                names(ref text);
                var fromColumn = Path.GetFileNameWithoutExtension(text.ToString());
                stem = string.IsNullOrWhiteSpace(fromColumn) ? stem : fromColumn;
            }
            if (!used.Add(stem))
            {
                stem = $"{stem}_{cursor.Position:000}";
                used.Add(stem);
            }
            pixels(ref values);
            var buffer = new float[values.Length];
            values.CopyTo(buffer);
            written.Add(new VcutVideo(buffer, frames, height, width).Save(Path.Combine(folder, stem + extension), options, cancellationToken));
        }
        return written;
    }
}
