using System.Buffers.Binary;
using System.Text;
using Vcut.Graph.Convert;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>The safetensors reader on hand-made files: values, dtypes, metadata and every malformed header.</summary>
[TestClass]
public sealed class SafetensorsFileTests
{
    private string _root = "";

    [TestInitialize]
    public void CreateRoot() => _root = ConvertFixture.NewRoot();

    [TestCleanup]
    public void DeleteRoot() => ConvertFixture.Delete(_root);

    private string Write(IReadOnlyList<SafetensorsEntry> entries, Func<string, string>? editHeader = null)
    {
        var path = Path.Combine(_root, $"{Guid.NewGuid():N}.safetensors");
        SafetensorsTestWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt" }, editHeader);
        return path;
    }

    [TestMethod]
    public void ReadsFloat32Float16AndBFloat16AsFloat32()
    {
        float[] values = [0f, 1f, -2.5f, 0.1f, 65504f, 1e-3f, -7.25f, 3.140625f];
        var path = Write([
            SafetensorsEntry.Floats("a.f32", [2, 4], values, "F32"),
            SafetensorsEntry.Floats("b.f16", [8], values, "F16"),
            SafetensorsEntry.Floats("c.bf16", [4, 2], values, "BF16"),
        ]);
        using var file = SafetensorsFile.Open(path);
        Assert.AreEqual("pt", file.Metadata["format"]);
        CollectionAssert.AreEqual(new long[] { 2, 4 }, file.Get("a.f32").Shape);
        Assert.AreEqual("F16", file.Get("b.f16").DType);
        foreach (var (key, dtype) in new[] { ("a.f32", "F32"), ("b.f16", "F16"), ("c.bf16", "BF16") })
        {
            CollectionAssert.AreEqual(values.Select(v => SafetensorsEntry.RoundTrip(v, dtype)).ToArray(), file.ReadFloats(key), key);
        }
        Assert.AreEqual(65504f, file.ReadFloats("b.f16")[4], "float16's largest value survives");
    }

    [TestMethod]
    public void ReadsTensorsLargerThanOneDecodeSliceAtUnalignedOffsets()
    {
        // 3 odd-sized tensors, so the big ones start off any page boundary; 2.5 M elements cross the 1 M-element slices.
        var big = TestData.Uniform(2_500_001, 7);
        var path = Write([
            SafetensorsEntry.Floats("odd", [3], [1f, 2f, 3f], "F16"),
            SafetensorsEntry.Floats("big.f16", [big.Length], big, "F16"),
            SafetensorsEntry.Floats("big.bf16", [big.Length], big, "BF16"),
            SafetensorsEntry.Floats("big.f32", [big.Length], big, "F32"),
        ]);
        using var file = SafetensorsFile.Open(path);
        Assert.AreNotEqual(0, (file.DataOffset + file.Get("big.f16").Begin) % 4096);
        CollectionAssert.AreEqual(big, file.ReadFloats("big.f32"));
        CollectionAssert.AreEqual(big.Select(v => SafetensorsEntry.RoundTrip(v, "F16")).ToArray(), file.ReadFloats("big.f16"));
        CollectionAssert.AreEqual(big.Select(v => SafetensorsEntry.RoundTrip(v, "BF16")).ToArray(), file.ReadFloats("big.bf16"));
    }

    [TestMethod]
    public void ScalarsAndEmptyTensorsAreFine()
    {
        var path = Write([SafetensorsEntry.Floats("scalar", [], [4.5f]), SafetensorsEntry.Floats("empty", [0, 3], [])]);
        using var file = SafetensorsFile.Open(path);
        CollectionAssert.AreEqual(new[] { 4.5f }, file.ReadFloats("scalar"));
        Assert.IsEmpty(file.ReadFloats("empty"));
    }

    [TestMethod]
    public void NonFloatTensorsAreListedButNotReadAsFloats()
    {
        var path = Write([SafetensorsEntry.Raw("ids", "I64", [2], new byte[16])]);
        using var file = SafetensorsFile.Open(path);
        Assert.IsFalse(file.Get("ids").IsFloat);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => file.ReadFloats("ids"));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "'ids' has dtype I64");
        e = Assert.ThrowsExactly<InvalidDataException>(() => file.Get("nope"));
        StringAssert.Contains(e.Message, "'nope' is missing");
    }

    [TestMethod]
    public void AShortFileIsTruncated()
    {
        var path = Path.Combine(_root, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "truncated");
    }

    [TestMethod]
    public void AHeaderLongerThanTheFileIsTruncated()
    {
        var path = Path.Combine(_root, "cut.safetensors");
        var bytes = new byte[8 + 10];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, "header length says 1000 bytes but only 10 follow");
    }

    [TestMethod]
    public void AHeaderThatIsNotJsonIsRefused()
    {
        var path = Path.Combine(_root, "garbage.safetensors");
        var header = Encoding.UTF8.GetBytes("{not json");
        var bytes = new byte[8 + header.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "not JSON");
    }

    [TestMethod]
    [DataRow("\"dtype\":\"F32\"", "\"dtype\":\"Q4\"", "unknown dtype 'Q4'")]
    [DataRow("\"data_offsets\":[0,16]", "\"data_offsets\":[16,0]", "invalid data_offsets")]
    [DataRow("\"shape\":[4]", "\"shape\":[-4]", "invalid shape")]
    [DataRow("\"shape\":[4]", "\"shape\":[5]", "takes 20 bytes")]
    public void MalformedEntriesNameTheTensor(string find, string replace, string expected)
    {
        var path = Write([SafetensorsEntry.Floats("w", [4], [1, 2, 3, 4])], header => header.Replace(find, replace, StringComparison.Ordinal));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "tensor 'w'");
        StringAssert.Contains(e.Message, expected);
    }

    [TestMethod]
    public void ATensorInsideALongerOneIsAnOverlap()
    {
        var path = Write([
            SafetensorsEntry.Floats("long", [8], new float[8]),
            SafetensorsEntry.Floats("a", [1], [1]),
            SafetensorsEntry.Floats("b", [1], [2]),
        ], header => header.Replace("\"data_offsets\":[36,40]", "\"data_offsets\":[4,8]", StringComparison.Ordinal));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => SafetensorsFile.Open(path));
        StringAssert.Contains(e.Message, "overlap");
        StringAssert.Contains(e.Message, "'b'");
        StringAssert.Contains(e.Message, "'long'");
    }
}
