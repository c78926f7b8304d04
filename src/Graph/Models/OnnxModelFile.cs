using Google.Protobuf;
using Onnx;
using Vcut.Graph.Files;

namespace Vcut.Graph.Models;

/// <summary>Reads ONNX model files with errors that name the file.</summary>
public static class OnnxModelFile
{
    /// <summary>Parses the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No file there.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ONNX model (truncated, another format).</exception>
    public static ModelProto Read(string path)
    {
        InputFiles.RequireRegularFile(path, "ONNX model");
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid ONNX model (truncated or another format): {e.Message}", e);
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new InvalidDataException($"'{path}' is not a valid ONNX model: it has no graph nodes.");
        }
        return model;
    }
}
