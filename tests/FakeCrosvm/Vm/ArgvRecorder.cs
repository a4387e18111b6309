using System.Text.Encodings.Web;
using System.Text.Json;

namespace FakeCrosvm.Vm;

/// <summary>Writes the received argv (without the program name) as a JSON array of strings, atomically.</summary>
internal static class ArgvRecorder
{
    public static void Write(string path, IReadOnlyList<string> args)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (string arg in args)
            {
                writer.WriteStringValue(arg);
            }

            writer.WriteEndArray();
        }

        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }
}
