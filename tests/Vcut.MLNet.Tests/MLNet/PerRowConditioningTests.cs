using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>Seed, motion bucket, fps and noise augmentation from columns, row by row, as diffusers takes them per call.</summary>
[TestClass]
public sealed class PerRowConditioningTests
{
    private static VideoGenerator _generator = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    /// <summary>A row with its own settings, in the column types a dataset would have them.</summary>
    public sealed class ConditionedRow
    {
        [ImageType(30, 40)]
        public MLImage Image { get; set; } = null!;

        public ulong Seed { get; set; }

        public int Motion { get; set; }

        public float Fps { get; set; }

        public double NoiseAug { get; set; }
    }

    public sealed class SeedRow
    {
        [ImageType(30, 40)]
        public MLImage Image { get; set; } = null!;

        public long Seed { get; set; }

        public float FloatSeed { get; set; }

        public string Text { get; set; } = "";
    }

    [TestMethod]
    public void SeedsFromAColumnGiveRowByRowTheVideoOfVideoGeneratorWithThatSeed()
    {
        var context = new MLContext();
        ulong[] seeds = [5, 1234567890123, 5];
        var data = context.Data.LoadFromEnumerable(seeds.Select(seed => new ConditionedRow { Image = Picture(0).MLImage, Seed = seed }).ToArray());
        using var transformer = context.Transforms.GenerateVideo(Short with { SeedColumnName = "Seed" }).Fit(data);
        var videos = Column(transformer.Transform(data), "Video");
        for (var row = 0; row < seeds.Length; row++)
        {
            var expected = _generator.Generate(Picture(0).Rgb, Generation(Short) with { Seed = seeds[row] }).Frames;
            CollectionAssert.AreEqual(expected, videos[row], $"row {row}: VideoGenerator with seed {seeds[row]}, bit for bit");
        }
        CollectionAssert.AreEqual(videos[0], videos[2], "the same seed, the same video");
        CollectionAssert.AreNotEqual(videos[0], videos[1], "another seed, another video");
    }

    [TestMethod]
    public void EveryConditioningColumnReachesItsRowInOneStepAndByStages()
    {
        var context = new MLContext();
        var rows = new[]
        {
            new ConditionedRow { Image = Picture(1).MLImage, Seed = 11, Motion = 20, Fps = 5, NoiseAug = 0.0 },
            new ConditionedRow { Image = Picture(2).MLImage, Seed = 12, Motion = 200, Fps = 12, NoiseAug = 0.1 },
        };
        var data = context.Data.LoadFromEnumerable(rows);
        var settings = Short with
        {
            SeedColumnName = "Seed",
            MotionBucketIdColumnName = "Motion",
            FpsColumnName = "Fps",
            NoiseAugStrengthColumnName = "NoiseAug",
        };
        using var oneStep = context.Transforms.GenerateVideo(settings).Fit(data);
        using var stages = context.Transforms.GenerateVideoByStages(Stages(settings)).Fit(data);
        var videos = Column(oneStep.Transform(data), "Video");
        var staged = Column(stages.Transform(data), "Video");
        for (var row = 0; row < rows.Length; row++)
        {
            var options = Generation(Short) with
            {
                Seed = rows[row].Seed,
                MotionBucketId = rows[row].Motion,
                Fps = rows[row].Fps,
                NoiseAugStrength = (float)rows[row].NoiseAug,
            };
            var expected = _generator.Generate(Picture(row + 1).Rgb, options).Frames;
            CollectionAssert.AreEqual(expected, videos[row], $"row {row}, one step");
            CollectionAssert.AreEqual(expected, staged[row], $"row {row}, by stages");
        }
        CollectionAssert.AreEqual(new[] { "Image", "Seed", "Motion", "Fps", "NoiseAug" }, oneStep.InputColumnNames.ToArray(), "the conditioning columns are read");
    }

    [TestMethod]
    public void AConditioningColumnOfTheWrongTypeIsASchemaErrorAtFitThatNamesIt()
    {
        var context = new MLContext();
        var data = context.Data.LoadFromEnumerable(new[] { new SeedRow { Image = Picture(0).MLImage, Seed = 1, FloatSeed = 1, Text = "7" } });

        var atFit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => context.Transforms.GenerateVideo(Short with { SeedColumnName = "FloatSeed" }).Fit(data));
        TestContext.WriteLine(atFit.Message);
        StringAssert.Contains(atFit.Message, "input column 'FloatSeed' is Single");
        StringAssert.Contains(atFit.Message, "expected a scalar integer column (the per-row seed");
        var atShape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            context.Transforms.GenerateVideo(Short with { SeedColumnName = "FloatSeed" }).GetOutputSchema(ShapeOf(data.Schema)));
        StringAssert.Contains(atShape.Message, "'FloatSeed'");
        var text = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => context.Transforms.GenerateVideo(Short with { FpsColumnName = "Text" }).Fit(data));
        StringAssert.Contains(text.Message, "input column 'Text' is String");
        StringAssert.Contains(text.Message, "(the per-row conditioning fps");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            context.Transforms.GenerateVideoByStages(Stages(Short) with { MotionBucketIdColumnName = "Motion" }).Fit(data));
        StringAssert.Contains(missing.Message, "input column 'Motion' not found");

        // Accepted: any integer type for the seed (here Int64), any numeric type for the others (here the Single column).
        using var accepted = context.Transforms.GenerateVideo(Short with { SeedColumnName = "Seed", NoiseAugStrengthColumnName = "FloatSeed" }).Fit(data);
        Assert.HasCount(1, Column(accepted.Transform(data), "Video"));
    }

    [TestMethod]
    public void ANegativeSeedIsRefusedWhenItsRowIsReadNamingColumnAndRow()
    {
        var context = new MLContext();
        var data = context.Data.LoadFromEnumerable(new[]
        {
            new SeedRow { Image = Picture(0).MLImage, Seed = 3 },
            new SeedRow { Image = Picture(0).MLImage, Seed = -3 },
        });
        using var transformer = context.Transforms.GenerateVideo(Short with { SeedColumnName = "Seed" }).Fit(data);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Column(transformer.Transform(data), "Video"));
        StringAssert.Contains(e.Message, "Column 'Seed', row 1: the seed is negative");
        Assert.AreEqual(1, transformer.RowsComputed, "row 0 was computed");
    }
}
