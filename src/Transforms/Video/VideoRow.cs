using Microsoft.ML;

namespace Vcut.MLNet;

/// <summary>
/// A row of a Vcut pipeline's output for ML.NET's typed APIs: <c>mlContext.Data.CreateEnumerable&lt;VideoRow&gt;(videos, …)</c>
/// and <c>mlContext.Model.CreatePredictionEngine&lt;TInput, VideoRow&gt;(model)</c>. It reads the column <c>Video</c>;
/// derive from it to read other columns too (e.g. the image path). <see cref="ToVideo"/> gives its frames and files.
/// </summary>
public class VideoRow
{
    /// <summary>The video column's values: frames × 3 × height × width, planar RGB in [0, 1], frame-major.</summary>
    public float[] Video { get; set; } = [];

    /// <summary>
    /// The video, sized by the column's type in <paramref name="schema"/> (the output schema the row was read from:
    /// <c>videos.Schema</c>, or <c>engine.OutputSchema</c> for a prediction engine).
    /// </summary>
    /// <param name="schema">The schema of the rows.</param>
    /// <param name="columnName">The video column read into <see cref="Video"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">No such column.</exception>
    /// <exception cref="ArgumentException">The column is not a video column, or <see cref="Video"/> does not fit it.</exception>
    public VcutVideo ToVideo(DataViewSchema schema, string columnName = VcutColumnNames.Video)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return VcutVideo.FromColumn(Video, schema[columnName].Type);
    }
}
