using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.MLNet.Tests.Convert;
using Vcut.MLNet.Tests.Runtime;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>
/// diffusers configs and safetensors headers that lie: wrong types, values out of range or not finite, products that
/// overflow. Each is refused with the file, the field and what was expected, before anything is built or written.
/// </summary>
[TestClass]
public sealed class HostileConfigTests
{
    /// <summary>(part, field, value as JSON, what the message must say).</summary>
    public static IEnumerable<object[]> BadFields =>
    [
        ["unet", "sample_size", "8.5", "sample_size is 8.5, expected an integer from 1 to 4096"],
        ["unet", "sample_size", "100000000", "sample_size is 100000000, expected an integer from 1 to 4096"],
        ["unet", "num_frames", "-5", "num_frames is -5, expected an integer from 1 to 4096"],
        ["unet", "num_frames", "\"25\"", "num_frames is \"25\", expected an integer"],
        ["unet", "block_out_channels", "[]", "block_out_channels has 0 levels; expected 2 to 8"],
        ["unet", "block_out_channels", "[32, 32, 32, 1e30]", "block_out_channels holds 1e30, expected an integer from 1 to 65536"],
        ["unet", "layers_per_block", "100000", "layers_per_block is 100000, expected an integer from 1 to 1024"],
        ["unet", "in_channels", "true", "in_channels is true, expected an integer"],
        ["vae", "scaling_factor", "0", "scaling_factor is 0, expected a positive number"],
        ["vae", "scaling_factor", "1e300", "scaling_factor is 1e300, expected a positive number that a float32 can hold"],
        ["vae", "scaling_factor", "\"0.18\"", "scaling_factor is \"0.18\", expected a positive finite number"],
        ["vae", "block_out_channels", "[32, 32, 32, 32, 32, 32, 32, 32, 32]", "block_out_channels has 9 entries, expected at most 8"],
        ["image_encoder", "num_hidden_layers", "1000000000", "num_hidden_layers is 1000000000, expected an integer from 1 to 1024"],
        ["image_encoder", "layer_norm_eps", "1e999", "layer_norm_eps is 1e999, expected a positive finite number"],
        ["image_encoder", "layer_norm_eps", "-1e-5", "layer_norm_eps is -1e-5, expected a positive number"],
    ];

    private static string Config(TempFolder folder, string part, string field, string valueJson)
    {
        var config = Convert.DiffusersSnapshotWriter.ConfigFor(part, ModelPreset.Tiny);
        config[field] = JsonNode.Parse("0"); // placeholder, replaced as raw text so any JSON (1e999 included) survives
        var text = config.ToJsonString().Replace($"\"{field}\":0", $"\"{field}\":{valueJson}", StringComparison.Ordinal);
        var path = folder.File($"{part}-config.json");
        File.WriteAllText(path, text);
        return path;
    }

    private static void Read(string part, string path)
    {
        switch (part)
        {
            case "unet":
                DiffusersConfig.ReadUNet(path);
                break;
            case "vae":
                DiffusersConfig.ReadVae(path);
                break;
            default:
                DiffusersConfig.ReadImageEncoder(path);
                break;
        }
    }

    [TestMethod]
    [DynamicData(nameof(BadFields))]
    public void ABadFieldIsRefusedWithTheFileTheFieldAndTheRange(string part, string field, string valueJson, string expected)
    {
        using var folder = new TempFolder();
        var path = Config(folder, part, field, valueJson);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Read(part, path), $"{part}.{field} = {valueJson}");
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void TheTinyConfigsStillRead()
    {
        using var folder = new TempFolder();
        var unet = folder.File("unet.json");
        File.WriteAllText(unet, Convert.DiffusersSnapshotWriter.ConfigFor("unet", ModelPreset.Tiny).ToJsonString());
        var (config, frames, sample) = DiffusersConfig.ReadUNet(unet);
        Assert.AreEqual(ModelPreset.Tiny.Architecture.UNet.CrossAttentionDim, config.CrossAttentionDim);
        Assert.AreEqual(ModelPreset.Tiny.DefaultFrames, frames);
        Assert.AreEqual(ModelPreset.Tiny.DefaultHeight / 8, sample);
    }

    [TestMethod]
    public void AnOversizedConfigIsRefusedUnread()
    {
        using var folder = new TempFolder();
        var path = folder.File("config.json");
        File.WriteAllText(path, "{\"pad\": \"" + new string('x', (int)DiffusersConfig.MaxFileBytes) + "\"}");
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => DiffusersConfig.ReadVae(path)).Message, "expected at most 1,048,576 bytes");
    }

    [TestMethod]
    public void ASnapshotWithNegativeFramesConvertsNothing()
    {
        var root = ConvertFixture.NewRoot();
        try
        {
            var snapshot = Path.Combine(root, "snapshot");
            Convert.DiffusersSnapshotWriter.Write(snapshot, ModelPreset.Tiny, ConvertFixture.Weights,
                new SnapshotOptions { EditConfig = (part, config) => { if (part == "unet") { config["num_frames"] = -5; } } });
            var e = Assert.ThrowsExactly<InvalidDataException>(() => CheckpointConverter.Convert(snapshot, Path.Combine(root, "converted")));
            StringAssert.Contains(e.Message, "num_frames is -5, expected an integer from 1 to 4096");
            CollectionAssert.AreEqual(new[] { "snapshot" }, ConvertFixture.Entries(root), "nothing written");
        }
        finally
        {
            ConvertFixture.Delete(root);
        }
    }

    [TestMethod]
    [DataRow("[4294967296, 4294967296]", "too large to address")]
    [DataRow("[9223372036854775807, 2]", "too large to address")]
    [DataRow("[-1]", "invalid shape")]
    public void ASafetensorsShapeWhoseProductOverflowsIsRefused(string shape, string expected)
    {
        using var folder = new TempFolder();
        var path = folder.File("lying.safetensors");
        // A tensor of zero bytes whose shape's product wraps around to zero when computed without overflow checks.
        var header = Encoding.UTF8.GetBytes($"{{\"w\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[0,0]}}}}");
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "tensor 'w'");
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void ASafetensorsHeaderLengthBeyondTheLimitIsRefusedUnread()
    {
        using var folder = new TempFolder();
        var path = folder.File("huge-header.safetensors");
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void ASafetensorsDeviceOrPipeIsRefusedUnopened()
    {
        using var folder = new TempFolder();
        var fifo = folder.File("model.safetensors");
        if (!HostileFiles.TryMakeFifo(fifo))
        {
            Assert.Inconclusive("No mkfifo here.");
        }
        var open = Task.Run(() => SafetensorsFile.Open(fifo));
        Assert.AreSame(open, Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10))).Result, "returns at once");
        StringAssert.Contains(open.Exception!.InnerException!.Message, "not a regular file");
    }
}
