using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Batch;

namespace Vcut.MLNet.Tests.Batch;

/// <summary>Listing inputs, naming outputs, stable hashes and shard indices from the scheduler.</summary>
[TestClass]
public sealed class BatchInputTests
{
    private static void Touch(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, []);
    }

    [TestMethod]
    public void AFolderListsItsFilesRecursivelySkippingHiddenOnesAndTheOutput()
    {
        using var temp = new TempFolder();
        foreach (var name in new[] { "b.png", "a.jpg", "sub/c.png", ".hidden.png", ".cache/d.png", "out/old.png" })
        {
            Touch(temp.File(name));
        }
        var sources = BatchInput.List(temp.Path, excludeFolder: temp.File("out"));
        CollectionAssert.AreEqual(new[] { "a.jpg", "b.png", "sub/c.png" }, sources.Select(s => s.Key).ToArray());
        Assert.AreEqual(temp.File("sub/c.png").Replace('/', Path.DirectorySeparatorChar), sources[2].ImagePath);
    }

    [TestMethod]
    public void ACsvNamesImagesInAColumn()
    {
        using var temp = new TempFolder();
        var elsewhere = Path.Combine(Path.GetTempPath(), "elsewhere", "x.png");
        File.WriteAllText(temp.File("list.csv"),
            "id,Image,label\n" +
            "1,cats/a.png,cat\n" +
            "2,\"dogs/b, the second.png\",\"dog, big\"\n" +
            "\n" +
            "3,,none\n" +
            $"4,{elsewhere},other\n" +
            "5,cats/a.png,again\n");
        var sources = BatchInput.List(temp.File("list.csv"));
        var expectedElsewhere = elsewhere[Path.GetPathRoot(elsewhere)!.Length..].Replace('\\', '/');
        CollectionAssert.AreEqual(new[] { "cats/a.png", "dogs/b, the second.png", expectedElsewhere }.Order(StringComparer.Ordinal).ToArray(),
            sources.Select(s => s.Key).ToArray());
        Assert.AreEqual(Path.GetFullPath(temp.File("cats/a.png")), sources.Single(s => s.Key == "cats/a.png").ImagePath);

        Assert.HasCount(3, BatchInput.List(temp.File("list.csv"), csvColumn: "image"));
        var missing = Assert.ThrowsExactly<InvalidDataException>(() => BatchInput.List(temp.File("list.csv"), csvColumn: "photo"));
        StringAssert.Contains(missing.Message, "id, Image, label");
        File.WriteAllText(temp.File("two.csv"), "a,b\nx,y\n");
        Assert.ThrowsExactly<InvalidDataException>(() => BatchInput.List(temp.File("two.csv")));
        File.WriteAllText(temp.File("one.csv"), "picture\nx.png\n");
        Assert.AreEqual("x.png", BatchInput.List(temp.File("one.csv")).Single().Key, "the only column");
        File.WriteAllText(temp.File("bad.csv"), "image\n\"x.png\n");
        Assert.ThrowsExactly<InvalidDataException>(() => BatchInput.List(temp.File("bad.csv")));
        Assert.ThrowsExactly<FileNotFoundException>(() => BatchInput.List(temp.File("nothing-here")));
        Touch(temp.File("list.txt"));
        Assert.ThrowsExactly<InvalidDataException>(() => BatchInput.List(temp.File("list.txt")));
    }

    [TestMethod]
    public void OutputsMirrorKeysAndKeepExtensionsOnlyWhenNamesCollide()
    {
        using var temp = new TempFolder();
        foreach (var name in new[] { "cat.png", "cat.jpg", "dog.png", "sub/dog.png", "noext" })
        {
            Touch(temp.File("in/" + name));
        }
        var (items, count) = BatchRunner.Plan(new BatchOptions { Input = temp.File("in"), OutputFolder = temp.File("out") });
        Assert.AreEqual(5, count);
        var outputs = items.ToDictionary(i => i.Key, i => Path.GetRelativePath(temp.File("out"), i.OutputPath).Replace('\\', '/'));
        Assert.AreEqual("cat.jpg.gif", outputs["cat.jpg"]);
        Assert.AreEqual("cat.png.gif", outputs["cat.png"]);
        Assert.AreEqual("dog.gif", outputs["dog.png"]);
        Assert.AreEqual("sub/dog.gif", outputs["sub/dog.png"]);
        Assert.AreEqual("noext.gif", outputs["noext"]);
    }

    [TestMethod]
    public void HashesAreTheDocumentedFunctions()
    {
        // FNV-1a 64 test vectors, and SplitMix64's first output for seed 0 (mix of the golden-ratio increment).
        Assert.AreEqual(0xCBF29CE484222325UL, StableHash.Fnv1a64(""));
        Assert.AreEqual(0xAF63DC4C8601EC8CUL, StableHash.Fnv1a64("a"));
        Assert.AreEqual(0xE220A8397B1DCDAFUL, StableHash.Mix(0x9E3779B97F4A7C15UL));
        Assert.AreEqual(StableHash.Mix(StableHash.Fnv1a64("cat.png") ^ StableHash.Mix(7 + 0x9E3779B97F4A7C15UL)), StableHash.SeedFor(7, "cat.png"));
        Assert.AreEqual((int)(StableHash.Mix(StableHash.Fnv1a64("cat.png")) % 5), StableHash.ShardOf("cat.png", 5));
        Assert.AreNotEqual(StableHash.SeedFor(7, "cat.png"), StableHash.SeedFor(8, "cat.png"));
    }

    [TestMethod]
    public void ShardsParseAndComeFromTheScheduler()
    {
        Assert.AreEqual(new BatchShard(1, 4), BatchShard.Parse("1/4"));
        Assert.AreEqual("1/4", BatchShard.Parse(" 1 / 4").ToString());
        foreach (var bad in new[] { "4/4", "-1/4", "1", "a/b", "0/0", "1/2/3" })
        {
            Assert.ThrowsExactly<ArgumentException>(() => BatchShard.Parse(bad), bad);
        }

        static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
            name => variables.FirstOrDefault(v => v.Name == name).Value;

        Assert.AreEqual(new BatchShard(2, 3), BatchShard.FromEnvironment(3, Env(("JOB_COMPLETION_INDEX", "2"))));
        Assert.AreEqual(new BatchShard(0, 3), BatchShard.FromEnvironment(3, Env(("JOB_COMPLETION_INDEX", "0"), ("SLURM_ARRAY_TASK_ID", "2"))), "Kubernetes first");
        Assert.AreEqual(new BatchShard(1, 4), BatchShard.FromEnvironment(4, Env(("SLURM_ARRAY_TASK_ID", "1"))));
        Assert.AreEqual(new BatchShard(3, 4), BatchShard.FromEnvironment(4, Env(("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "1"))), "an array 1-4");
        var none = Assert.ThrowsExactly<ArgumentException>(() => BatchShard.FromEnvironment(4, Env()));
        StringAssert.Contains(none.Message, "JOB_COMPLETION_INDEX");
        StringAssert.Contains(none.Message, "SLURM_ARRAY_TASK_ID");
        var outside = Assert.ThrowsExactly<ArgumentException>(() => BatchShard.FromEnvironment(2, Env(("JOB_COMPLETION_INDEX", "2"))));
        StringAssert.Contains(outside.Message, "JOB_COMPLETION_INDEX=2");
        Assert.ThrowsExactly<ArgumentException>(() => BatchShard.FromEnvironment(2, Env(("SLURM_ARRAY_TASK_ID", "x"))));
    }
}
