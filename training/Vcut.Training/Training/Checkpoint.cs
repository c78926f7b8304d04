using System.Text.Json;
using Vcut.Training.Model;

namespace Vcut.Training.Training;

/// <summary>
/// A training checkpoint: every parameter (name, count, float32 values) in one binary file and the run's state as
/// JSON, written into a staging folder and renamed over the previous checkpoint, so a run killed at any moment leaves
/// either the old checkpoint or the new one.
/// </summary>
internal static class Checkpoint
{
    private const string ParametersFile = "parameters.bin";
    private const string StateFile = "state.json";

    public static void Save(string directory, SvdParameters parameters, TrainingState state)
    {
        var staging = directory + ".staging";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        Directory.CreateDirectory(staging);
        using (var writer = new BinaryWriter(File.Create(Path.Combine(staging, ParametersFile))))
        {
            writer.Write(parameters.Specs.Count);
            foreach (var key in parameters.Specs.Keys)
            {
                var values = parameters.Values(key);
                writer.Write(key);
                writer.Write(values.Length);
                foreach (var v in values)
                {
                    writer.Write(v);
                }
            }
        }
        File.WriteAllText(Path.Combine(staging, StateFile), JsonSerializer.Serialize(state));
        // Keep the optimizer states (written next to the checkpoint by the trainer) across the swap.
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.GetFiles(directory, "*-optimizer.bin"))
            {
                File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
            }
            var old = directory + ".old";
            if (Directory.Exists(old))
            {
                Directory.Delete(old, recursive: true);
            }
            Directory.Move(directory, old);
            Directory.Move(staging, directory);
            Directory.Delete(old, recursive: true);
        }
        else
        {
            Directory.Move(staging, directory);
        }
    }

    public static TrainingState Load(string directory, SvdParameters parameters)
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using (var reader = new BinaryReader(File.OpenRead(Path.Combine(directory, ParametersFile))))
        {
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var key = reader.ReadString();
                var length = reader.ReadInt32();
                var array = new float[length];
                for (var j = 0; j < length; j++)
                {
                    array[j] = reader.ReadSingle();
                }
                values[key] = array;
            }
        }
        parameters.Load(values);
        return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(Path.Combine(directory, StateFile)))
            ?? throw new InvalidDataException($"The checkpoint state in '{directory}' is empty.");
    }
}
