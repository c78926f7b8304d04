using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// The common behaviour of the Vcut estimators: the schema is checked by <see cref="GetOutputSchema"/> and by
/// <see cref="Fit"/> (missing input column, wrong type, unknown model directory, options that do not fit the model),
/// and <see cref="Fit"/> opens the model's sessions (shared by every Vcut transformer of the same model, VCUT mode and
/// execution settings). Nothing is learned from the data: fitting reads no rows. Created by the catalog methods
/// (<c>mlContext.Transforms.GenerateVideo</c>, …), which apply the <c>MLContext</c>'s GPU settings.
/// </summary>
/// <typeparam name="TTransformer">The transformer <see cref="Fit"/> returns.</typeparam>
public abstract class VcutRowEstimator<TTransformer> : IEstimator<TTransformer>
    where TTransformer : class, ITransformer
{
    private protected VcutRowEstimator(string stageName, string outputColumnName, VcutOptions? settings)
    {
        StageName = stageName;
        OutputColumnName = outputColumnName;
        Settings = settings;
    }

    /// <summary>The name of the column the transformer adds.</summary>
    public string OutputColumnName { get; }

    private protected VcutOptions? Settings { get; }

    private protected string StageName { get; }

    /// <summary>Checks <paramref name="input"/>'s schema and opens the model; reads no rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type (named, with what was expected).</exception>
    /// <exception cref="DirectoryNotFoundException">The model directory does not exist (the message names the path).</exception>
    /// <exception cref="InvalidDataException">The directory is not a Vcut model directory, or a model does not match the pipeline.</exception>
    /// <exception cref="ArgumentException">The options do not fit the model.</exception>
    /// <exception cref="InvalidOperationException">A GPU was asked for, CUDA cannot start, and <see cref="VcutOptions.FallbackToCpu"/> is off; or a VCUT mode the directory cannot give.</exception>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shapes = Resolve();
        foreach (var column in Inputs(shapes))
        {
            column.Find(input.Schema, StageName);
        }
        return Create(shapes);
    }

    /// <summary>The schema after the transformer: the input's columns plus the output column (replacing one of the same name).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong kind or item type.</exception>
    /// <exception cref="DirectoryNotFoundException">The model directory does not exist.</exception>
    /// <exception cref="InvalidDataException">The directory is not a Vcut model directory.</exception>
    /// <exception cref="ArgumentException">The options do not fit the model.</exception>
    /// <exception cref="InvalidOperationException">A VCUT mode the directory cannot give.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var shapes = Resolve();
        foreach (var column in Inputs(shapes))
        {
            column.Check(inputSchema, StageName);
        }
        return SchemaShapes.WithColumn(inputSchema, OutputColumnName, OutputType(shapes));
    }

    private protected static T Validated<T>(T options, Action<T> validate)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        validate(options);
        return options;
    }

    private ModelShapes? Resolve() => Settings is null ? null : ModelShapes.Resolve(Settings);

    private protected abstract IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes);

    private protected abstract VectorDataViewType OutputType(ModelShapes? shapes);

    /// <summary>The transformer, without looking at data (also used when a saved model is restored).</summary>
    private protected abstract TTransformer Create(ModelShapes? shapes);

    internal TTransformer CreateWithoutData() => Create(Resolve());
}
