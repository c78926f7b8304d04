namespace Vcut.Runtime.Quality;

/// <summary>
/// A global camera-like move of a picture: a zoom about the image centre and a shift. The warped picture's pixel
/// (x, y) shows the original at ((x − cx)/<see cref="Zoom"/> + cx − <see cref="ShiftX"/>,
/// (y − cy)/<see cref="Zoom"/> + cy − <see cref="ShiftY"/>), with (cx, cy) = ((W − 1)/2, (H − 1)/2): a zoom above 1
/// zooms in, a positive shift moves the content right or down. Shifts are in pixels.
/// </summary>
/// <param name="Zoom">The zoom factor s (1: none; above 1 zooms in).</param>
/// <param name="ShiftX">The horizontal shift dx in pixels (positive: content moves right).</param>
/// <param name="ShiftY">The vertical shift dy in pixels (positive: content moves down).</param>
public readonly record struct CameraMove(double Zoom, double ShiftX, double ShiftY)
{
    /// <summary>No move: zoom 1, no shift.</summary>
    public static CameraMove Identity => new(1, 0, 0);

    /// <summary>
    /// How far the move displaces the picture, in pixels, for a <paramref name="width"/> × <paramref name="height"/> image:
    /// |(dx, dy)| + |s − 1| · ½√(W² + H²), the shift plus the zoom's displacement at the image corner.
    /// </summary>
    public double Displacement(int width, int height) =>
        Math.Sqrt(ShiftX * ShiftX + ShiftY * ShiftY) + Math.Abs(Zoom - 1) * 0.5 * Math.Sqrt((double)width * width + (double)height * height);
}

/// <summary>The best camera move found for one frame and how well it explains the frame.</summary>
/// <param name="Frame">The frame index (1 or more: frame 0 is compared with the input directly).</param>
/// <param name="Move">The fitted move of the input picture.</param>
/// <param name="Psnr">PSNR in dB of the frame against the moved input, over the valid pixels and all 3 channels.</param>
/// <param name="ValidFraction">The share of the frame's pixels whose source lies inside the input (the valid mask).</param>
public sealed record FrameFit(int Frame, CameraMove Move, double Psnr, double ValidFraction);

/// <summary>How well global camera moves of the input explain a video's later frames.</summary>
/// <param name="MeanPsnr">The mean of <see cref="FrameFit.Psnr"/> over frames 1..F−1, in dB; NaN for a video of one frame.</param>
/// <param name="Frames">One fit per frame 1..F−1, in order.</param>
public sealed record MotionFit(double MeanPsnr, IReadOnlyList<FrameFit> Frames);

/// <summary>How much a video moves, as pixel change and as camera displacement.</summary>
/// <param name="MeanFrameDifference">The mean over k ≥ 1 of the mean absolute difference between frames k and k−1, in [0, 1] units (0 for one frame).</param>
/// <param name="CameraDisplacement">The fitted move's <see cref="CameraMove.Displacement"/> at the last frame, in pixels (0 for one frame).</param>
public sealed record MotionAmount(double MeanFrameDifference, double CameraDisplacement);

/// <summary>The quality figures of one generated video against its input picture.</summary>
/// <param name="FirstFramePsnr">PSNR in dB of frame 0 against the input, over all 3 channels.</param>
/// <param name="MotionFit">The camera-move fit of frames 1..F−1.</param>
/// <param name="Motion">The amount of motion.</param>
public sealed record VideoQualityReport(double FirstFramePsnr, MotionFit MotionFit, MotionAmount Motion)
{
    /// <summary>The mean motion-fit PSNR in dB (<see cref="MotionFit.MeanPsnr"/>).</summary>
    public double MotionFitPsnr => MotionFit.MeanPsnr;
}

/// <summary>Two videos of the same shape compared frame by frame.</summary>
/// <param name="MeanPsnr">The mean of <paramref name="FramePsnr"/>, in dB.</param>
/// <param name="MeanSsim">The mean of <paramref name="FrameSsim"/>.</param>
/// <param name="FramePsnr">Per frame: PSNR in dB over all 3 channels.</param>
/// <param name="FrameSsim">Per frame: SSIM of the luma.</param>
public sealed record VideoComparison(double MeanPsnr, double MeanSsim, IReadOnlyList<double> FramePsnr, IReadOnlyList<double> FrameSsim);
