using System.Text.Json.Nodes;
using Onnx;
using Vcut.Graph.Builders;
using Vcut.Graph.Files;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>Model folders whose manifest lies: missing fields, values out of range, paths that lead out of the folder.</summary>
[TestClass]
public sealed class HostileModelFolderTests
{
    private static string Manifest(string directory) => Path.Combine(directory, ModelManifest.FileName);

    /// <summary>Each corruption of the tiny model's manifest, and what the message must name.</summary>
    public static IEnumerable<object[]> Corruptions =>
    [
        ["no models", (Action<JsonObject>)(m => m.Remove("models")), "models is missing"],
        ["no architecture", (Action<JsonObject>)(m => m.Remove("architecture")), "architecture is missing"],
        ["defaultFrames 0", (Action<JsonObject>)(m => m["defaultFrames"] = 0), "defaultFrames is 0; expected 1 to 4096"],
        ["scalingFactor 0", (Action<JsonObject>)(m => m["architecture"]!["vae"]!["scalingFactor"] = 0), "scaling_factor = 0 must be a positive finite number"],
        ["attention 7", (Action<JsonObject>)(m => m["attention"] = 7), "attention is 7; expected \"plain\" or \"fused\""],
        ["defaultHeight 2^20", (Action<JsonObject>)(m => m["defaultHeight"] = 1 << 20), "defaultHeight is 1048576; expected a multiple of 8"],
        ["no VAE levels", (Action<JsonObject>)(m => m["architecture"]!["vae"]!["blockOutChannels"] = new JsonArray()), "VAE block_out_channels needs 1 to 8 levels, got 0"],
        ["preset null", (Action<JsonObject>)(m => m["preset"] = null), "preset is missing"],
        ["unet ../", (Action<JsonObject>)(m => m["models"]!["unet"] = "../../victim/model.onnx"), "models.unet is '../../victim/model.onnx', which has a '..' segment"],
        ["unet absolute", (Action<JsonObject>)(m => m["models"]!["unet"] = "/tmp/victim/model.onnx"), "models.unet is '/tmp/victim/model.onnx', which is absolute"],
        ["unet missing", (Action<JsonObject>)(m => m.AsObject()["models"]!.AsObject().Remove("unet")), "models.unet is missing"],
        ["unknown graph", (Action<JsonObject>)(m => m["models"]!["evil"] = "evil/model.onnx"), "models.evil names an unknown graph"],
        ["one file twice", (Action<JsonObject>)(m => m["models"]!["vae_decoder"] = "unet/model.onnx"), "the file of models.unet too"],
    ];

    [TestMethod]
    [DynamicData(nameof(Corruptions))]
    public void ACorruptManifestIsRefusedWithTheFieldNamed(string name, Action<JsonObject> edit, string expected)
    {
        using var folder = new TempFolder();
        var model = HostileFiles.ModelWithManifest(folder.File("model"), edit, withGraphs: false);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ModelManifest.Load(model), name);
        StringAssert.Contains(e.Message, Manifest(model));
        StringAssert.Contains(e.Message, expected);
        // Every reader of model folders goes through the same check.
        Assert.ThrowsExactly<InvalidDataException>(() => VideoGenerator.Open(model), name);
        Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(model, folder.File("out"), VcutMode.Exact), name);
        Assert.IsFalse(Directory.Exists(folder.File("out")), "nothing written");
    }

    [TestMethod]
    public void RewriteNeverReadsOrWritesOutsideItsFolders()
    {
        using var folder = new TempFolder();
        var victim = Directory.CreateDirectory(folder.File("victim")).FullName;
        File.Copy(Path.Combine(TestModels.Tiny, "unet", "model.onnx"), Path.Combine(victim, "model.onnx"));
        var before = File.ReadAllBytes(Path.Combine(victim, "model.onnx"));
        var model = HostileFiles.ModelWithManifest(folder.File("models/m"), m => m["models"]!["unet"] = "../../victim/model.onnx");

        var e = Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(model, folder.File("rw/out"), VcutMode.Exact));
        StringAssert.Contains(e.Message, "'..' segment");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(Path.Combine(victim, "model.onnx")), "the file outside is untouched");
        CollectionAssert.AreEqual(new[] { "model.onnx" }, HostileFiles.Tree(victim));
        Assert.IsFalse(Directory.Exists(folder.File("rw")));
    }

    [TestMethod]
    public void ALinkOutOfTheModelFolderIsRefused()
    {
        if (!HostileFiles.IsUnix)
        {
            Assert.Inconclusive("Links need a Unix file system here.");
        }
        using var folder = new TempFolder();
        var outside = Directory.CreateDirectory(folder.File("outside")).FullName;
        File.Copy(Path.Combine(TestModels.Tiny, "unet", "model.onnx"), Path.Combine(outside, "model.onnx"));
        var model = HostileFiles.ModelWithManifest(folder.File("model"), _ => { });
        Directory.Delete(Path.Combine(model, "unet"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(model, "unet"), outside);

        var manifest = ModelManifest.Load(model); // the manifest itself is fine; the path leads out through the link
        var e = Assert.ThrowsExactly<InvalidDataException>(() => manifest.PathOf(model, ModelNames.UNet));
        StringAssert.Contains(e.Message, "models.unet is 'unet/model.onnx', which leads through a link to");
        StringAssert.Contains(e.Message, outside);
        Assert.ThrowsExactly<InvalidDataException>(() => VideoGenerator.Open(model));
        Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(model, folder.File("out"), VcutMode.Exact));
        Assert.ThrowsExactly<InvalidDataException>(() => Vcut.Graph.Models.GraphSummary.OfDirectory(model));
        Assert.IsFalse(Directory.Exists(folder.File("out")));
    }

    [TestMethod]
    public void TheWriterKeepsEveryGraphInsideItsFolderWhateverTheManifestSays()
    {
        using var folder = new TempFolder();
        var good = ModelManifest.Load(TestModels.Tiny);
        var escaping = good with { Models = new Dictionary<string, string> { [ModelNames.UNet] = "../../escaped.onnx" } };
        var e = Assert.ThrowsExactly<InvalidDataException>(() =>
            ModelDirectoryWriter.Write(folder.File("out"), escaping, (_, _) => new ModelProto()));
        StringAssert.Contains(e.Message, "'..' segment");
        Assert.IsEmpty(folder.Entries(), "neither the output, its staging folder nor the escaped file exists");
    }

    [TestMethod]
    [DataRow("../outside.data", "0", "4", "which has a '..' segment")]
    [DataRow("/etc/passwd", "0", "4", "which is absolute")]
    [DataRow("model.onnx.data", "abc", "4", "offset 'abc'; expected a non-negative integer")]
    [DataRow("model.onnx.data", "0", "-4", "length '-4'; expected an integer from 0 to")]
    [DataRow("model.onnx.data", "9223372036854775807", "4", "past the file's 4 bytes")]
    public void ExternalDataThatLeadsOutOrLiesIsRefused(string location, string offset, string length, string expected)
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("model.onnx.data"), new byte[4]);
        File.WriteAllBytes(folder.File("outside.data"), new byte[4]);
        var tensor = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.Add(1);
        foreach (var (key, value) in new[] { ("location", location), ("offset", offset), ("length", length) })
        {
            tensor.ExternalData.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        var model = new ModelProto { Graph = new GraphProto() };
        model.Graph.Initializer.Add(tensor);
        var source = Directory.CreateDirectory(folder.File("model")).FullName;
        File.Move(folder.File("model.onnx.data"), Path.Combine(source, "model.onnx.data"));
        // The target's folder is a model directory's staging folder, removed whole on failure; here a plain one.
        Directory.CreateDirectory(folder.File("out"));
        var e = Assert.ThrowsExactly<InvalidDataException>(() =>
            Vcut.Graph.Onnx.ExternalData.Relocate(model, source, folder.File("out/model.onnx")));
        StringAssert.Contains(e.Message, "'w'");
        StringAssert.Contains(e.Message, expected);
        CollectionAssert.AreEqual(new byte[4], File.ReadAllBytes(folder.File("outside.data")), "the file outside is untouched");
    }

    [TestMethod]
    public void OversizedAndNonRegularManifestsAreRefusedUnread()
    {
        using var folder = new TempFolder();
        var model = HostileFiles.ModelWithManifest(folder.File("model"), _ => { }, withGraphs: false);
        File.WriteAllText(Manifest(model), new string(' ', (int)ModelManifest.MaxFileBytes + 1));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ModelManifest.Load(model)).Message, "expected at most 1,048,576 bytes");
        if (HostileFiles.IsUnix && File.Exists("/dev/zero"))
        {
            File.Delete(Manifest(model));
            File.CreateSymbolicLink(Manifest(model), "/dev/zero");
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => ModelManifest.Load(model)).Message, "not a regular file");
        }
    }

    [TestMethod]
    public void ConfinedPathsRefuseEveryWayOut()
    {
        using var folder = new TempFolder();
        foreach (var (path, problem) in new[] { ("", "is empty"), ("/etc/passwd", "is absolute"), ("a/../../b", "'..' segment"), ("..", "'..' segment"), ("a\\..\\b", "'..' segment"), ("c:x", "':'") })
        {
            StringAssert.Contains(ConfinedPath.Problem(path), problem, path);
            Assert.ThrowsExactly<InvalidDataException>(() => ConfinedPath.Resolve(folder.Path, path, "test"), path);
        }
        Assert.IsNull(ConfinedPath.Problem("unet/model.onnx"));
        Assert.AreEqual(Path.Combine(folder.Path, "unet", "model.onnx"), ConfinedPath.Resolve(folder.Path, "unet/model.onnx", "test"));
        if (HostileFiles.IsUnix)
        {
            // A loop of links is an error, not a hang.
            File.CreateSymbolicLink(folder.File("a"), folder.File("b"));
            File.CreateSymbolicLink(folder.File("b"), folder.File("a"));
            StringAssert.Contains(Assert.ThrowsExactly<IOException>(() => ConfinedPath.RealPath(folder.File("a"))).Message, "link loop");
        }
    }
}
