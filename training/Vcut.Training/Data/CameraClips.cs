using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Vcut.Training.Data;

/// <summary>One training clip: frames and the conditioning SVD is given for them.</summary>
/// <param name="Frames">(F, 3, S, S) in [0, 1]; frame 0 is the still picture itself.</param>
/// <param name="Fps">Frames per second of the clip (SVD's <c>fps</c> conditioning is this minus one).</param>
/// <param name="MotionBucketId">SVD's motion bucket: the speed of the camera move.</param>
public sealed record Clip(Tensor Frames, float Fps, float MotionBucketId);

/// <summary>
/// Turns still pictures into clips by a smooth synthetic camera move: a push-in about an anchor point right of and
/// above the centre, whose zoom grows as exp(k·v·t) with t the time since the first frame (frame index / fps) and v
/// the speed, motion_bucket_id / 127. The first frame is the picture; every later frame shows only what the first
/// one showed, so a model conditioned on the first frame can make the whole clip.
/// </summary>
/// <remarks>
/// The direction of the move is the same in every clip: SVD's conditioning (fps, motion bucket, noise
/// augmentation) carries a speed but no direction, and a model this small cannot learn to pick a direction out of
/// its starting noise; a fixed direction makes the clip a function of its conditioning, which it can learn.
/// </remarks>
public sealed class CameraClips(int frameSize)
{
    /// <summary>Zoom rate (log-zoom per second) at motion bucket 127.</summary>
    public const double ZoomRatePerSecond = 0.18;

    /// <summary>The anchor of the push-in in normalised coordinates ([−1, 1], x right, y down).</summary>
    public static readonly (double X, double Y) Anchor = (0.25, -0.15);

    /// <summary>The side of the frames in pixels.</summary>
    public int FrameSize { get; } = frameSize;

    /// <summary>
    /// Renders <paramref name="frames"/> frames of <paramref name="canvas"/> ((3, 2S, 2S) for frames of side S: the
    /// double resolution keeps the zoomed frames sharp) at <paramref name="fps"/> and motion bucket
    /// <paramref name="motionBucketId"/>.
    /// </summary>
    public Clip Render(Tensor canvas, int frames, float fps, float motionBucketId)
    {
        using var scope = NewDisposeScope();
        var speed = motionBucketId / 127.0;
        var theta = zeros([frames, 2, 3]);
        for (var k = 0; k < frames; k++)
        {
            var zoom = Math.Exp(ZoomRatePerSecond * speed * k / fps);
            var inverse = 1 / zoom;
            theta[k, 0, 0] = tensor((float)inverse);
            theta[k, 1, 1] = tensor((float)inverse);
            theta[k, 0, 2] = tensor((float)(Anchor.X * (1 - inverse)));
            theta[k, 1, 2] = tensor((float)(Anchor.Y * (1 - inverse)));
        }
        var grid = F.affine_grid(theta, [frames, 3, FrameSize, FrameSize], align_corners: false);
        // Bilinear sampling of a canvas twice the frame size averages 2×2 canvas pixels per frame pixel at zoom 1.
        var video = F.grid_sample(canvas.unsqueeze(0).expand(frames, -1, -1, -1), grid, mode: GridSampleMode.Bilinear,
            padding_mode: GridSamplePaddingMode.Border, align_corners: false);
        return new Clip(video.clamp(0, 1).MoveToOuterDisposeScope(), fps, motionBucketId);
    }
}
