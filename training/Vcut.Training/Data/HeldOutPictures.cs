using Vcut.Runtime.Imaging;
using static TorchSharp.torch;

namespace Vcut.Training.Data;

/// <summary>
/// Pictures the model never saw, for <c>vcut evaluate</c>: procedural scenes drawn from seeds outside every training
/// stream (the trainer's generators are seeded from the run's seed times a large prime plus the step), and photos
/// given by the user, centre-cropped to a square.
/// </summary>
public static class HeldOutPictures
{
    /// <summary>Writes <paramref name="count"/> procedural scenes (seeds 1…count) and the square crops of <paramref name="photos"/> to <paramref name="folder"/> at <paramref name="size"/> pixels.</summary>
    public static IReadOnlyList<string> Write(string folder, int count, int size, IEnumerable<string> photos)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        var scenes = new SceneGenerator(size);
        for (var seed = 1; seed <= count; seed++)
        {
            using var g = new Generator((ulong)seed);
            using var picture = scenes.Draw(g).contiguous();
            var path = Path.Combine(folder, $"scene-{seed:D2}.png");
            RgbImage.FromPixels(picture.data<float>().ToArray(), size, size).SavePng(path);
            written.Add(path);
        }
        foreach (var photo in photos)
        {
            var image = RgbImage.Load(photo);
            var side = Math.Min(image.Width, image.Height);
            var left = (image.Width - side) / 2;
            var top = (image.Height - side) / 2;
            var plane = side * side;
            var square = new float[3 * plane];
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < side; y++)
                {
                    image.Pixels.AsSpan(c * image.Width * image.Height + (top + y) * image.Width + left, side)
                        .CopyTo(square.AsSpan(c * plane + y * side, side));
                }
            }
            var path = Path.Combine(folder, $"photo-{Path.GetFileNameWithoutExtension(photo)}.png");
            LanczosResizer.Resize(RgbImage.FromPixels(square, side, side), size, size).SavePng(path);
            written.Add(path);
        }
        return written;
    }
}
