using System.Buffers.Binary;
using System.Text;
using Vcut.Runtime.Io;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class NpyFileTests
{
    /// <summary>A .npy file assembled by hand: magic, version, header length (2 or 4 bytes), header text, data.</summary>
    private static byte[] Build(int major, string header, byte[] data)
    {
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);
        var lengthBytes = major == 1 ? 2 : 4;
        var file = new byte[8 + lengthBytes + text.Length + data.Length];
        (new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 }).CopyTo(file, 0);
        if (major == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)text.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), (uint)text.Length);
        }
        text.CopyTo(file, 8 + lengthBytes);
        data.CopyTo(file, 8 + lengthBytes + text.Length);
        return file;
    }

    private static byte[] Singles(params float[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        }
        return bytes;
    }

    private static byte[] Doubles(params double[] values)
    {
        var bytes = new byte[8 * values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(8 * i), values[i]);
        }
        return bytes;
    }

    [TestMethod]
    [DataRow(new long[] { 2, 3, 4 })]
    [DataRow(new long[] { 5 })]
    [DataRow(new long[] { })]
    [DataRow(new long[] { 0, 3 })]
    [DataRow(new long[] { 1, 14, 4, 9, 16 })]
    public void RoundTripKeepsValuesAndShape(long[] shape)
    {
        using var folder = new TempFolder();
        var path = folder.File("a.npy");
        var data = TestData.Uniform((int)shape.Aggregate(1L, (a, b) => a * b), 5, 100f);
        if (data.Length > 1)
        {
            (data[0], data[^1]) = (float.MinValue, float.Epsilon);
        }
        NpyFile.Write(path, data, shape);
        var (read, readShape) = NpyFile.Read(path);
        CollectionAssert.AreEqual(shape, readShape);
        CollectionAssert.AreEqual(data, read);
        CollectionAssert.AreEqual(new[] { "a.npy" }, folder.Entries(), "no temporary files left behind");
    }

    [TestMethod]
    public void WrittenHeaderIsNumpysVersionOneLayout()
    {
        using var folder = new TempFolder();
        var path = folder.File("h.npy");
        NpyFile.Write(path, new float[6], [2, 3]);
        var bytes = File.ReadAllBytes(path);
        CollectionAssert.AreEqual(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.AreEqual(0, (10 + headerLength) % 64, "data starts 64-byte aligned");
        Assert.AreEqual(10 + headerLength + 24, bytes.Length);
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Contains("'shape': (5,)", WriteAndReadHeader(folder, [5]));
        Assert.Contains("'shape': ()", WriteAndReadHeader(folder, []));
    }

    private static string WriteAndReadHeader(TempFolder folder, long[] shape)
    {
        var path = folder.File("s.npy");
        NpyFile.Write(path, new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
        var bytes = File.ReadAllBytes(path);
        return Encoding.ASCII.GetString(bytes, 10, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)));
    }

    [TestMethod]
    public void ReadsHandBuiltFilesOfEachVersion()
    {
        using var folder = new TempFolder();
        var v1 = folder.File("v1.npy");
        File.WriteAllBytes(v1, Build(1, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}\n", Singles(1.5f, -2f, 0.25f)));
        var (data1, shape1) = NpyFile.Read(v1);
        CollectionAssert.AreEqual(new long[] { 3 }, shape1);
        CollectionAssert.AreEqual(new[] { 1.5f, -2f, 0.25f }, data1);

        // Version 2.0, float64 narrowed to float, keys in another order, Python 2's long suffix, extra spaces.
        var v2 = folder.File("v2.npy");
        File.WriteAllBytes(v2, Build(2, "{ 'shape' : (2L, 2L) , 'fortran_order':False,'descr':'<f8' }      \n", Doubles(0.1, 1e-3, -7, 1e10)));
        var (data2, shape2) = NpyFile.Read(v2);
        CollectionAssert.AreEqual(new long[] { 2, 2 }, shape2);
        CollectionAssert.AreEqual(new[] { 0.1f, 1e-3f, -7f, 1e10f }, data2);

        var v3 = folder.File("v3.npy");
        File.WriteAllBytes(v3, Build(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }\n", Singles(42f)));
        CollectionAssert.AreEqual(new[] { 42f }, NpyFile.Read(v3).Data);
    }

    [TestMethod]
    public void TruncatedOrPaddedDataIsInvalid()
    {
        using var folder = new TempFolder();
        var path = folder.File("short.npy");
        File.WriteAllBytes(path, Build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", Singles(1, 2, 3)));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);

        var written = folder.File("cut.npy");
        NpyFile.Write(written, new float[100], [10, 10]);
        var bytes = File.ReadAllBytes(written);
        File.WriteAllBytes(written, bytes[..(bytes.Length - 1)]);
        Assert.Contains("truncated", Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(written)).Message);
        File.WriteAllBytes(written, bytes[..20]);
        Assert.Contains("truncated", Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(written)).Message);

        var longer = folder.File("long.npy");
        File.WriteAllBytes(longer, Build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", Singles(1, 2, 3)));
        Assert.Contains("trailing", Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(longer)).Message);
    }

    [TestMethod]
    [DataRow("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "big-endian")]
    [DataRow("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", "'<i4'")]
    [DataRow("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", "expected little-endian float32 '<f4'")]
    [DataRow("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", "Fortran")]
    [DataRow("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "malformed header")]
    [DataRow("{'descr': '<f4', 'shape': (1,), }", "fortran_order")]
    [DataRow("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "malformed header")]
    public void UnsupportedHeadersAreExplained(string header, string expectedText)
    {
        using var folder = new TempFolder();
        var path = folder.File("bad.npy");
        File.WriteAllBytes(path, Build(1, header + "\n", new byte[4]));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expectedText, e.Message);
    }

    [TestMethod]
    public void NotNpyOrMissingFilesAreReported()
    {
        using var folder = new TempFolder();
        var text = folder.File("text.npy");
        File.WriteAllText(text, "hello, this is not numpy");
        Assert.Contains("magic", Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(text)).Message);
        var future = folder.File("v4.npy");
        File.WriteAllBytes(future, Build(1, "{}", []).Select((b, i) => i == 6 ? (byte)4 : b).ToArray());
        Assert.Contains("4.0", Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(future)).Message);
        Assert.ThrowsExactly<FileNotFoundException>(() => NpyFile.Read(folder.File("none.npy")));
    }

    [TestMethod]
    public void WriteChecksTheShapeAndLeavesNothingOnFailure()
    {
        using var folder = new TempFolder();
        var path = folder.File("w.npy");
        Assert.ThrowsExactly<ArgumentException>(() => NpyFile.Write(path, new float[5], [2, 3]));
        Assert.ThrowsExactly<ArgumentException>(() => NpyFile.Write(path, new float[0], [-1, 0]));
        Assert.IsEmpty(folder.Entries());
        NpyFile.Write(path, [1f], [1]);
        NpyFile.Write(path, [2f, 3f], [2]);
        CollectionAssert.AreEqual(new[] { 2f, 3f }, NpyFile.Read(path).Data, "overwritten");
    }
}
