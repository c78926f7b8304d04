using Google.Protobuf;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;
using Vcut.Runtime.Profiling;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>The GEMM peak probe and the profile-by-operator summary (their structure; the numbers are benchmarks).</summary>
[TestClass]
public sealed class ProfilingTests
{
    [TestMethod]
    public void SummaryCountsOnlyTheLastRunsKernelsByOperatorType()
    {
        const string profile = """
            [
              {"cat":"Session","name":"model_run","ts":100,"dur":50},
              {"cat":"Node","name":"a_kernel_time","ts":110,"dur":40,"args":{"op_name":"Conv"}},
              {"cat":"Session","name":"model_run","ts":1000,"dur":100},
              {"cat":"Node","name":"b_kernel_time","ts":1010,"dur":30,"args":{"op_name":"Conv"}},
              {"cat":"Node","name":"c_kernel_time","ts":1040,"dur":10,"args":{"op_name":"MatMul"}},
              {"cat":"Node","name":"d_kernel_time","ts":1050,"dur":20,"args":{"op_name":"Conv"}},
              {"cat":"Node","name":"d_fence_before","ts":1050,"dur":5,"args":{"op_name":"Conv"}}
            ]
            """;
        var summary = OperatorProfiler.Summarise(profile);
        Assert.AreEqual(TimeSpan.FromMicroseconds(100), summary.CallTime);
        Assert.AreEqual(TimeSpan.FromMicroseconds(60), summary.KernelTime);
        Assert.AreEqual("Conv", summary.ByKind[0].OpType);
        Assert.AreEqual(2, summary.ByKind[0].Kernels);
        Assert.AreEqual(50.0 / 60, summary.ByKind[0].Share, 1e-12);
        Assert.AreEqual(("MatMul", 1), (summary.ByKind[1].OpType, summary.ByKind[1].Kernels));
    }

    [TestMethod]
    public void ProfileWithoutARunIsRefused() =>
        Assert.ThrowsExactly<InvalidDataException>(() => OperatorProfiler.Summarise("""[{"cat":"Node","name":"x_kernel_time","ts":1,"dur":1}]"""));

    [TestMethod]
    public void ProfilesATinyUNetCallByOperatorType()
    {
        var unet = UNetGraphBuilder.Build(ModelPreset.Tiny.Architecture.UNet, new SeededWeightSource(2), AttentionForm.Fused);
        var path = Path.Combine(Path.GetTempPath(), $"vcut-profile-test-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, unet.ToByteArray());
        try
        {
            var profile = OperatorProfiler.Profile(path, new Dictionary<string, long[]>
            {
                ["sample"] = [2, 2, 8, 4, 4],
                ["timestep"] = [1],
                ["encoder_hidden_states"] = [2, 1, 32],
                ["added_time_ids"] = [2, 3],
            }, threads: 1);
            Assert.IsTrue(profile.ByKind.Any(k => k.OpType == "Conv"), "a UNet call runs convolutions");
            Assert.AreEqual(1.0, profile.ByKind.Sum(k => k.Share), 1e-9);
            Assert.IsGreaterThanOrEqualTo(profile.KernelTime, profile.CallTime, "kernels run inside the call");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void GemmPeakCountsCubicMultiplyAccumulates()
    {
        var result = GemmPeak.Measure(size: 128, runs: 1, threads: 1);
        Assert.AreEqual(128.0 * 128 * 128, result.Macs);
        Assert.IsGreaterThan(0.0, result.GigaMacsPerSecond);
    }

    [TestMethod]
    [DataRow(32)]
    [DataRow(10_000)]
    public void GemmPeakRefusesSizesOutsideItsRange(int size) =>
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => GemmPeak.Measure(size: size));
}
