using System.Text.Json.Nodes;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Names;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>
/// A broken snapshot is refused with the file and the key named, and the output folder is left as it was: absent,
/// or still holding the previous model, never half-written.
/// </summary>
[TestClass]
public sealed class ConvertErrorTests
{
    private const string UNetKey = "down_blocks.1.resnets.0.spatial_res_block.conv1.weight";
    private string _root = "";

    [TestInitialize]
    public void CreateRoot() => _root = ConvertFixture.NewRoot();

    [TestCleanup]
    public void DeleteRoot() => ConvertFixture.Delete(_root);

    private string Snapshot(SnapshotOptions options)
    {
        var path = Path.Combine(_root, "snapshot");
        DiffusersSnapshotWriter.Write(path, ConvertFixture.Tiny, ConvertFixture.Weights, options);
        return path;
    }

    /// <summary>Converts, expects the error, and checks that nothing was written next to the snapshot.</summary>
    private InvalidDataException ConvertFails(string snapshot)
    {
        var output = Path.Combine(_root, "converted");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => CheckpointConverter.Convert(snapshot, output));
        CollectionAssert.AreEqual(new[] { "snapshot" }, ConvertFixture.Entries(_root), "no output folder and no temporary folder left behind");
        return e;
    }

    private static List<SafetensorsEntry> Replace(List<SafetensorsEntry> entries, string key, Func<SafetensorsEntry, SafetensorsEntry> change) =>
        entries.Select(e => e.Name == key ? change(e) : e).ToList();

    [TestMethod]
    public void AMissingTensorIsNamedWithItsFile()
    {
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditTensors = (part, entries) => part == "unet" ? entries.Where(e => e.Name != UNetKey).ToList() : entries,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "unet"));
        StringAssert.Contains(e.Message, $"'{UNetKey}' is missing");
        StringAssert.Contains(e.Message, "(1 problem)");
    }

    [TestMethod]
    public void AMissingVaeAttentionTensorNamesBothItsNames()
    {
        const string key = "encoder.mid_block.attentions.0.to_k.bias";
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditTensors = (part, entries) => part == "vae" ? entries.Where(e => e.Name != key).ToList() : entries,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "vae"));
        StringAssert.Contains(e.Message, $"'{key}' is missing (nor under its older name 'encoder.mid_block.attentions.0.key.bias')");
    }

    [TestMethod]
    public void AnUnexpectedShapeIsNamedWithBothShapes()
    {
        // conv_in of the tiny UNet is (32, 8, 3, 3); store the same 2304 numbers as (32, 72).
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditTensors = (part, entries) => part == "unet"
                ? Replace(entries, "conv_in.weight", e => e with { Shape = [32, 72] })
                : entries,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "unet"));
        StringAssert.Contains(e.Message, "'conv_in.weight' has shape [32, 72], expected [32, 8, 3, 3]");
    }

    [TestMethod]
    public void AWrongDtypeIsNamed()
    {
        const string key = "vision_model.post_layernorm.bias";
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditTensors = (part, entries) => part == "image_encoder"
                ? Replace(entries, key, e => e with { DType = "I32" })
                : entries,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "image_encoder"));
        StringAssert.Contains(e.Message, $"'{key}' has dtype I32; expected F32, F16 or BF16");
    }

    [TestMethod]
    public void ATruncatedFileNamesTheTensorPastItsEnd()
    {
        var snapshot = Snapshot(new SnapshotOptions());
        var file = DiffusersSnapshotWriter.WeightFile(snapshot, "vae");
        string firstCut;
        using (var read = SafetensorsFile.Open(file))
        {
            var dataLength = read.FileLength - read.DataOffset - 100;
            firstCut = read.Tensors.Values.OrderBy(t => t.Begin).First(t => t.End > dataLength).Name;
        }
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length - 100); // an interrupted download
        }
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, file);
        StringAssert.Contains(e.Message, "truncated");
        StringAssert.Contains(e.Message, $"tensor '{firstCut}' ends at data byte");
    }

    [TestMethod]
    public void AHeaderWhoseOffsetsDisagreeWithTheShapeIsNamed()
    {
        const string key = "time_embedding.linear_1.bias";
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditHeader = (part, header) => part == "unet" ? EditOffsets(header, key, (b, e) => (b, e - 4)) : header,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "unet"));
        StringAssert.Contains(e.Message, $"'{key}' has data_offsets");
        StringAssert.Contains(e.Message, "takes 512 bytes");
    }

    [TestMethod]
    public void OverlappingOffsetsNameBothTensors()
    {
        // Point the second tensor at the first one's bytes (same size: both biases of width 32).
        const string first = "encoder.conv_in.bias";
        const string second = "encoder.down_blocks.0.resnets.0.norm1.bias";
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditHeader = (part, header) =>
            {
                if (part != "vae")
                {
                    return header;
                }
                var json = JsonNode.Parse(header)!.AsObject();
                json[second]!["data_offsets"] = json[first]!["data_offsets"]!.DeepClone();
                return json.ToJsonString();
            },
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "vae"));
        StringAssert.Contains(e.Message, "overlap");
        StringAssert.Contains(e.Message, $"'{first}'");
        StringAssert.Contains(e.Message, $"'{second}'");
    }

    [TestMethod]
    public void OffsetsBeyondTheFileAreNamed()
    {
        const string key = "visual_projection.weight";
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditHeader = (part, header) => part == "image_encoder" ? EditOffsets(header, key, (b, e) => (b + (1 << 20), e + (1 << 20))) : header,
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(snapshot, "image_encoder"));
        StringAssert.Contains(e.Message, $"'{key}' ends at data byte");
    }

    [TestMethod]
    public void ACorruptValueFailsMidConversionAndTheOldModelStays()
    {
        // Found only when the values are read, after the image encoder and VAE encoder were already written.
        var output = Path.Combine(_root, "converted");
        var good = Snapshot(new SnapshotOptions());
        CheckpointConverter.Convert(good, output);
        var before = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        Directory.Delete(good, recursive: true);

        const string key = "conv_out.bias";
        var bad = Snapshot(new SnapshotOptions
        {
            EditTensors = (part, entries) => part == "unet"
                ? Replace(entries, key, e => SafetensorsEntry.Floats(key, e.Shape, [.. Enumerable.Repeat(0.5f, 3), float.NaN]))
                : entries,
        });
        var e = Assert.ThrowsExactly<InvalidDataException>(() => CheckpointConverter.Convert(bad, output));
        StringAssert.Contains(e.Message, DiffusersSnapshotWriter.WeightFile(bad, "unet"));
        StringAssert.Contains(e.Message, $"'{key}' holds NaN");
        CollectionAssert.AreEqual(new[] { "converted", "snapshot" }, ConvertFixture.Entries(_root), "no temporary folder left behind");
        foreach (var (file, bytes) in before)
        {
            Assert.IsTrue(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} was changed");
        }
    }

    [TestMethod]
    public void AConfigTheBuilderCannotHonourIsRefusedByField()
    {
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditConfig = (part, config) =>
            {
                if (part == "unet")
                {
                    config["transformer_layers_per_block"] = 2;
                }
            },
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, Path.Combine(snapshot, "unet", "config.json"));
        StringAssert.Contains(e.Message, "transformer_layers_per_block is 2");
    }

    [TestMethod]
    public void QuickGeluImageEncodersAreRefused()
    {
        var snapshot = Snapshot(new SnapshotOptions
        {
            EditConfig = (part, config) =>
            {
                if (part == "image_encoder")
                {
                    config["hidden_act"] = "quick_gelu"; // OpenAI CLIP's activation, not SVD's encoder's
                }
            },
        });
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, Path.Combine(snapshot, "image_encoder", "config.json"));
        StringAssert.Contains(e.Message, "hidden_act is 'quick_gelu'");
    }

    [TestMethod]
    public void PickleOnlyFoldersAreRefusedWithAHint()
    {
        var snapshot = Snapshot(new SnapshotOptions());
        var file = DiffusersSnapshotWriter.WeightFile(snapshot, "unet");
        File.Move(file, Path.ChangeExtension(file, ".bin"));
        var e = ConvertFails(snapshot);
        StringAssert.Contains(e.Message, Path.Combine(snapshot, "unet"));
        StringAssert.Contains(e.Message, "diffusion_pytorch_model.bin");
    }

    [TestMethod]
    public void CancellingInTheMiddleOfAStreamedGraphLeavesNothing()
    {
        var snapshot = Snapshot(new SnapshotOptions());
        using var cancellation = new CancellationTokenSource();
        var progress = new Synchronous(p =>
        {
            if (p.Model == ModelNames.UNet && p.Parameter is not null)
            {
                cancellation.Cancel(); // while unet/model.onnx.data is open and half-written
            }
        });
        Assert.ThrowsExactly<OperationCanceledException>(() => CheckpointConverter.Convert(snapshot, Path.Combine(_root, "converted"),
            new ConversionOptions { ExternalData = ExternalDataPolicy.Always }, progress, cancellation.Token));
        CollectionAssert.AreEqual(new[] { "snapshot" }, ConvertFixture.Entries(_root), "no output folder and no temporary folder left behind");
    }

    [TestMethod]
    public void TheOutputMayNotBeInsideTheSnapshot()
    {
        var snapshot = Snapshot(new SnapshotOptions());
        var e = Assert.ThrowsExactly<IOException>(() => CheckpointConverter.Convert(snapshot, Path.Combine(snapshot, "onnx")));
        StringAssert.Contains(e.Message, "inside");
        Assert.IsFalse(Directory.Exists(Path.Combine(snapshot, "onnx")));
    }

    private sealed class Synchronous(Action<ModelBuildProgress> report) : IProgress<ModelBuildProgress>
    {
        public void Report(ModelBuildProgress value) => report(value);
    }

    private static string EditOffsets(string header, string key, Func<long, long, (long, long)> change)
    {
        var json = JsonNode.Parse(header)!.AsObject();
        var offsets = json[key]!["data_offsets"]!.AsArray();
        var (begin, end) = change(offsets[0]!.GetValue<long>(), offsets[1]!.GetValue<long>());
        json[key]!["data_offsets"] = new JsonArray(begin, end);
        return json.ToJsonString();
    }
}
