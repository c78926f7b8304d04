namespace Vcut.Cli;

/// <summary>A parsed command line: positional words and <c>--name value</c> / <c>--flag</c> options.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CommandLine(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                Positional.Add(arg);
                continue;
            }
            var name = arg[2..];
            if (flags.Contains(name))
            {
                _options[name] = null;
            }
            else if (i + 1 < list.Count)
            {
                var value = list[++i];
                // `--out --seed 3` forgot the value: taking "--seed" as a path would write a folder of that name.
                if (value.StartsWith("--", StringComparison.Ordinal) && value.Length > 2)
                {
                    throw new UsageException($"Option --{name} needs a value, but the next word is the option '{value}' (a value that starts with '--' can be written ./{value}).");
                }
                if (value.Length == 0)
                {
                    throw new UsageException($"Option --{name} needs a value, got an empty one.");
                }
                _options[name] = value;
            }
            else
            {
                throw new UsageException($"Option --{name} needs a value.");
            }
        }
    }

    public List<string> Positional { get; } = [];

    public bool Flag(string name)
    {
        _read.Add(name);
        return _options.ContainsKey(name);
    }

    public string? Get(string name)
    {
        _read.Add(name);
        return _options.TryGetValue(name, out var value) ? value : null;
    }

    public string Require(string name) => Get(name) ?? throw new UsageException($"Missing required option --{name}.");

    public ulong GetUInt64(string name, ulong fallback)
    {
        var text = Get(name);
        if (text is null)
        {
            return fallback;
        }
        return ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException($"--{name} expects a non-negative integer, got '{text}'.");
    }

    public int? GetInt(string name)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }
        return int.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException($"--{name} expects an integer, got '{text}'.");
    }

    public float? GetFloat(string name)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }
        return float.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new UsageException($"--{name} expects a number, got '{text}'.");
    }

    /// <summary>Throws when an option was given that no command read (a typo, usually).</summary>
    public void RejectUnknown()
    {
        var unknown = _options.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
        }
    }
}

/// <summary>A mistake in how the command was called; printed with the usage text, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
