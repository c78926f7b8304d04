using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Vcut.Graph.Names;
using Vcut.MLNet;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.PublicApi;

/// <summary>
/// The tracked public API: every public type and member of the three libraries, one line each, against the baseline
/// files beside this test (<c>Vcut.Graph.txt</c>, <c>Vcut.Runtime.txt</c>, <c>Vcut.MLNet.txt</c>). A change to the
/// public surface fails here until the baseline is updated with it, so it is a decision, reviewed in the diff:
/// run the test with <c>VCUT_ACCEPT_API=1</c> to rewrite the baselines from the built assemblies.
/// </summary>
[TestClass]
public sealed class PublicApiTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly Dictionary<string, Assembly> Libraries = new[]
    {
        typeof(GraphPorts).Assembly, typeof(VideoGenerator).Assembly, typeof(VcutVideoEstimator).Assembly,
    }.ToDictionary(a => a.GetName().Name!);

    public static IEnumerable<object[]> Assemblies => Libraries.Keys.Select(name => new object[] { name });

    [TestMethod]
    [DynamicData(nameof(Assemblies))]
    public void PublicApiMatchesTheBaseline(string assemblyName)
    {
        var assembly = Libraries[assemblyName];
        var actual = Describe(assembly);
        var baselinePath = Path.Combine(SourceFolder(), assemblyName + ".txt");
        if (Environment.GetEnvironmentVariable("VCUT_ACCEPT_API") == "1")
        {
            File.WriteAllText(baselinePath, string.Join("\n", actual) + "\n");
            TestContext.WriteLine($"Wrote {actual.Count} lines to {baselinePath}.");
            return;
        }
        Assert.IsTrue(File.Exists(baselinePath), $"No public API baseline at {baselinePath}; run with VCUT_ACCEPT_API=1 to write it.");
        var expected = File.ReadAllLines(baselinePath).Where(line => line.Length > 0).ToList();
        var added = actual.Except(expected, StringComparer.Ordinal).ToList();
        var removed = expected.Except(actual, StringComparer.Ordinal).ToList();
        Assert.IsTrue(added.Count == 0 && removed.Count == 0,
            $"The public API of {assemblyName} differs from {baselinePath}. If the change is meant, run the test with VCUT_ACCEPT_API=1 " +
            $"and commit the baseline.\nAdded:\n  {string.Join("\n  ", added)}\nRemoved:\n  {string.Join("\n  ", removed)}");
    }

    [TestMethod]
    public void HelpersUsedOnlyInsideAreNotPublic()
    {
        var runtime = typeof(VideoGenerator).Assembly;
        var graph = typeof(GraphPorts).Assembly;
        foreach (var name in new[] { "Vcut.Runtime.Randomness.GaussianRandom", "Vcut.Runtime.Batch.StableHash", "Vcut.Runtime.Sessions.SvdSessions" })
        {
            Assert.IsFalse(runtime.GetType(name, throwOnError: true)!.IsPublic, name);
        }
        Assert.IsFalse(graph.GetType("Vcut.Graph.Weights.SplitMix64", throwOnError: true)!.IsPublic);
        Assert.IsFalse(graph.GetType("Vcut.Graph.Onnx.OnnxGraphBuilder", throwOnError: true)!.IsPublic);
    }

    private static string SourceFolder([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    /// <summary>One line per public type and per public or protected member, sorted.</summary>
    internal static List<string> Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            var typeName = Name(type);
            lines.Add($"{Kind(type)} {typeName}{Bases(type)}");
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var member in type.GetMembers(all))
            {
                if (Describe(member) is { } text)
                {
                    lines.Add($"{typeName}.{text}");
                }
            }
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static string? Describe(MemberInfo member)
    {
        if (member.Name.Contains('<', StringComparison.Ordinal) || member.Name == "EqualityContract" || member.GetCustomAttribute<CompilerGeneratedAttribute>() is not null && member is not PropertyInfo)
        {
            return null;
        }
        switch (member)
        {
            case ConstructorInfo c when Visible(c):
                return $"{Access(c)}{(c.IsStatic ? "static " : "")}.ctor({Parameters(c.GetParameters())})";
            case MethodInfo m when Visible(m) && (!m.IsSpecialName || m.Name.StartsWith("op_", StringComparison.Ordinal)):
                var generic = m.IsGenericMethodDefinition ? $"<{string.Join(", ", m.GetGenericArguments().Select(a => a.Name))}>" : "";
                return $"{Access(m)}{Modifiers(m)}{m.Name}{generic}({Parameters(m.GetParameters())}) -> {Name(m.ReturnType)}";
            case PropertyInfo p:
                var getter = p.GetMethod is { } g && Visible(g) ? g : null;
                var setter = p.SetMethod is { } s && Visible(s) ? s : null;
                if (getter is null && setter is null)
                {
                    return null;
                }
                var init = setter?.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit") == true ? "init" : "set";
                var accessors = string.Join(" ", new[] { getter is null ? null : "get", setter is null ? null : init }.Where(a => a is not null));
                var index = p.GetIndexParameters() is { Length: > 0 } ps ? $"[{Parameters(ps)}]" : "";
                return $"{Access((getter ?? setter)!)}{Modifiers((getter ?? setter)!)}{p.Name}{index} {{ {accessors} }} -> {Name(p.PropertyType)}";
            case FieldInfo f when f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly:
                var value = f.IsLiteral ? $" = {f.GetRawConstantValue()}" : "";
                return $"{(f.IsFamily ? "protected " : "")}{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{f.Name} -> {Name(f.FieldType)}{value}";
            case EventInfo e when e.AddMethod is { } add && Visible(add):
                return $"event {e.Name} -> {Name(e.EventHandlerType!)}";
            default:
                return null;
        }
    }

    private static bool Visible(MethodBase method) => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly;

    private static string Access(MethodBase method) => method.IsPublic ? "" : "protected ";

    private static string Modifiers(MethodInfo method) =>
        method.IsStatic ? "static "
        : method.IsAbstract ? "abstract "
        : method.IsVirtual && !method.IsFinal && method.GetBaseDefinition() == method ? "virtual "
        : method.IsVirtual && method.GetBaseDefinition() != method ? "override "
        : "";

    private static string Kind(Type type) =>
        type.IsEnum ? "enum"
        : type.IsInterface ? "interface"
        : type.IsValueType ? "struct"
        : type.IsSubclassOf(typeof(Delegate)) ? "delegate"
        : (type.IsAbstract && type.IsSealed ? "static class"
            : $"{(type.IsSealed ? "sealed " : type.IsAbstract ? "abstract " : "")}{(type.GetMethod("<Clone>$") is not null ? "record" : "class")}");

    private static string Bases(Type type)
    {
        if (type.IsEnum)
        {
            return $" : {Name(Enum.GetUnderlyingType(type))}";
        }
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && !type.IsSubclassOf(typeof(Delegate)))
        {
            bases.Add(Name(b));
        }
        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Where(i => !i.Name.StartsWith("IEquatable", StringComparison.Ordinal))
            .Select(Name).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? "" : " : " + string.Join(", ", bases);
    }

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
    {
        var type = p.ParameterType;
        var prefix = type.IsByRef ? (p.IsOut ? "out " : p.IsIn ? "in " : "ref ") : "";
        var optional = p.HasDefaultValue ? $" = {p.DefaultValue ?? (type.IsValueType && Nullable.GetUnderlyingType(type) is null ? "default" : "null")}" : "";
        return $"{prefix}{Name(type.IsByRef ? type.GetElementType()! : type)} {p.Name}{optional}";
    }));

    private static string Name(Type type)
    {
        if (type.IsGenericParameter)
        {
            return type.Name;
        }
        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }
        if (type.IsByRef || type.IsPointer)
        {
            return Name(type.GetElementType()!) + (type.IsByRef ? "&" : "*");
        }
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return Name(underlying) + "?";
        }
        var name = type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : (type.Namespace is { } ns ? ns + "." : "") + type.Name;
        if (!type.IsGenericType)
        {
            return name;
        }
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var builder = new StringBuilder(tick < 0 ? name : name[..tick]);
        builder.Append('<').Append(string.Join(", ", type.GetGenericArguments().Select(Name))).Append('>');
        return builder.ToString();
    }
}
