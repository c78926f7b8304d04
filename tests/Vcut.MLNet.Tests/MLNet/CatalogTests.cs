using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>The catalog methods are shaped as ML.NET's own, and honour the MLContext's GPU settings as ApplyOnnxModel does.</summary>
[TestClass]
public sealed class CatalogTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly MethodInfo[] Methods = typeof(VcutCatalog).GetMethods(BindingFlags.Public | BindingFlags.Static);

    private static ParameterInfo Parameter(string name, Type catalog, string method) =>
        catalog.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.Name == method)
            .SelectMany(m => m.GetParameters())
            .First(p => p.Name == name);

    [TestMethod]
    public void CatalogIsInMicrosoftMLAsMLNetsOwnCatalogs()
    {
        Assert.AreEqual(typeof(OnnxCatalog).Namespace, typeof(VcutCatalog).Namespace, "beside OnnxCatalog and ImageEstimatorsCatalog");
        Assert.AreEqual("Microsoft.ML", typeof(VcutCatalog).Namespace);
        Assert.AreEqual("Microsoft.ML", typeof(VcutModelOperations).Namespace);
        Assert.AreEqual("Microsoft.ML", typeof(VcutDataExtensions).Namespace);
        CollectionAssert.AreEquivalent(
            new[] { "GenerateVideo", "GenerateVideoByStages", "PreprocessClipImage", "EncodeClipImage", "EncodeConditioningLatent",
                "ComputeConditioningCache", "DenoiseVideo", "DecodeVideo" },
            Methods.Select(m => m.Name).Distinct().ToArray());
    }

    [TestMethod]
    public void EveryMethodHasAColumnOverloadShapedAsMLNetsAndAnOptionsOverloadHoldingTheColumns()
    {
        // ML.NET's shapes: ApplyOnnxModel(catalog, outputColumnName, inputColumnName, modelFile, gpuDeviceId = null, fallbackToCpu = false),
        // LoadImages(catalog, outputColumnName, imageFolder, inputColumnName = null), ResizeImages(catalog, outputColumnName, …, inputColumnName = null, …).
        var applyOnnx = typeof(OnnxCatalog).GetMethods().Single(m => m.Name == nameof(OnnxCatalog.ApplyOnnxModel)
            && m.GetParameters().Select(p => p.Name).SequenceEqual(["catalog", "outputColumnName", "inputColumnName", "modelFile", "gpuDeviceId", "fallbackToCpu"]));
        var mlnetGpu = applyOnnx.GetParameters()[^2..];
        var mlnetInput = Parameter("inputColumnName", typeof(ImageEstimatorsCatalog), nameof(ImageEstimatorsCatalog.LoadImages));
        var mlnetFolder = Parameter("imageFolder", typeof(ImageEstimatorsCatalog), nameof(ImageEstimatorsCatalog.LoadImages));

        foreach (var group in Methods.GroupBy(m => m.Name))
        {
            var overloads = group.ToArray();
            Assert.HasCount(2, overloads, group.Key);
            var simple = overloads.Single(m => m.GetParameters()[1].ParameterType == typeof(string));
            var withOptions = overloads.Single(m => m != simple);
            var parameters = simple.GetParameters();
            var names = string.Join(", ", parameters.Select(p => p.Name));
            TestContext.WriteLine($"{simple.Name}({names})");

            Assert.AreEqual(typeof(TransformsCatalog), parameters[0].ParameterType, simple.Name);
            Assert.AreEqual("catalog", parameters[0].Name);
            Assert.AreEqual("outputColumnName", parameters[1].Name, $"{simple.Name}: the output column first, as in ML.NET");
            Assert.IsFalse(parameters[1].HasDefaultValue, $"{simple.Name}: the output column is required");
            if (simple.Name == nameof(VcutCatalog.DenoiseVideo))
            {
                CollectionAssert.AreEqual(new[] { "conditioningLatentColumnName", "conditioningCacheColumnName" }, parameters[2..4].Select(p => p.Name).ToArray());
                Assert.IsFalse(parameters[2].HasDefaultValue || parameters[3].HasDefaultValue, "two inputs, both required");
            }
            else
            {
                Assert.AreEqual(mlnetInput.Name, parameters[2].Name, simple.Name);
                Assert.AreEqual(mlnetInput.ParameterType, parameters[2].ParameterType);
                Assert.IsTrue(parameters[2].HasDefaultValue && parameters[2].DefaultValue is null, $"{simple.Name}: inputColumnName = null (= the output's name), as in ML.NET");
            }
            if (parameters.FirstOrDefault(p => p.Name == mlnetFolder.Name) is { } folder)
            {
                Assert.AreEqual(mlnetFolder.ParameterType, folder.ParameterType);
            }
            if (simple.Name != nameof(VcutCatalog.PreprocessClipImage)) // the only stage that runs no model
            {
                var last = parameters[^2..];
                for (var i = 0; i < 2; i++)
                {
                    Assert.AreEqual(mlnetGpu[i].Name, last[i].Name, $"{simple.Name}: ends as ApplyOnnxModel ({names})");
                    Assert.AreEqual(mlnetGpu[i].ParameterType, last[i].ParameterType, simple.Name);
                    Assert.AreEqual(mlnetGpu[i].DefaultValue, last[i].DefaultValue, simple.Name);
                }
            }
            else
            {
                Assert.IsFalse(parameters.Any(p => p.Name == "gpuDeviceId"));
            }

            var options = withOptions.GetParameters();
            Assert.HasCount(2, options, withOptions.Name);
            var type = options[1].ParameterType;
            var output = type.GetProperty("OutputColumnName");
            Assert.IsNotNull(output, $"{type.Name} holds the column names");
            Assert.IsTrue(output.IsDefined(typeof(RequiredMemberAttribute)), $"{type.Name}.OutputColumnName is required");
            Assert.AreEqual(simple.ReturnType, withOptions.ReturnType);
        }
    }

    [TestMethod]
    public void MLContextGpuSettingsReachTheSessionsAndTheCpuFallbackRuns()
    {
        var data = Images(new MLContext(), 1);
        var context = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };
        var simple = context.Transforms.GenerateVideo("Video", "Image");
        Assert.AreEqual((0, true), (simple.Options.GpuDeviceId, simple.Options.FallbackToCpu), "the simple overload takes the context's device and fallback");
        var fromOptions = context.Transforms.GenerateVideo(Short);
        Assert.AreEqual((0, true), (fromOptions.Options.GpuDeviceId, fromOptions.Options.FallbackToCpu), "so does the options overload when its GpuDeviceId is null");
        var explicitDevice = context.Transforms.GenerateVideo("Video", "Image", gpuDeviceId: 3, fallbackToCpu: true);
        Assert.AreEqual(3, explicitDevice.Options.GpuDeviceId, "an explicit device wins, as in ApplyOnnxModel");

        using var transformer = fromOptions.Fit(data);
        var cudaStarts = transformer.Device == ExecutionDevice.Cuda;
        TestContext.WriteLine($"sessions asked for CUDA device 0 with fallback run on: {transformer.Device}");
        if (!cudaStarts)
        {
            using var cpu = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact);
            CollectionAssert.AreEqual(cpu.Generate(Picture(0).Rgb, Generation(Short)).Frames, Column(transformer.Transform(data), "Video")[0],
                "the CPU fallback gives the CPU's frames");
        }
        using (var stages = context.Transforms.GenerateVideoByStages(Stages(Short)).Fit(data))
        {
            foreach (var stage in stages)
            {
                var settings = (VcutOptions)stage.GetType().GetProperty("Options")!.GetValue(stage)!;
                Assert.AreEqual((0, true), (settings.GpuDeviceId, settings.FallbackToCpu), $"{stage.GetType().Name}: every stage gets the context's device");
                if (stage is VcutRowTransformer row)
                {
                    Assert.AreEqual(transformer.Device, row.Device, $"{stage.GetType().Name}: its sessions too");
                }
            }
            Assert.HasCount(1, Column(stages.Transform(data), "Video.ImageEmbedding"), "ML.NET's ApplyOnnxModel inside the CLIP stage runs with the device, or falls back");
        }

        if (!cudaStarts)
        {
            var noFallback = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => noFallback.Transforms.GenerateVideo(Short).Fit(data));
            TestContext.WriteLine("no fallback: " + e.Message);
            StringAssert.Contains(e.Message, "CUDA");
        }
    }
}
