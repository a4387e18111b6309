using System.Text.Encodings.Web;
using System.Text.Json;

namespace FakeCrosvm.Vm;

/// <summary>
/// Writes what <c>run</c> parsed (after the <c>=</c>-split and argh's rules, before the semantic checks) as one JSON
/// object, atomically, so tests can assert which options crosvm would have seen rather than which strings were passed.
/// </summary>
internal static class ParsedRecorder
{
    public static void Write(string path, RunOptions options)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("kernel", options.Kernel);
            writer.WriteString("initrd", options.Initrd);
            writer.WriteString("bios", options.Bios);
            writer.WriteString("socket", options.Socket);
            writer.WriteBoolean("protectedVm", options.ProtectedVm);
            writer.WriteNumber("memoryMib", options.MemoryMib);
            writer.WriteNumber("cpus", options.Cpus);
            if (options.VsockCid is { } cid)
            {
                writer.WriteNumber("vsockCid", cid);
            }
            else
            {
                writer.WriteNull("vsockCid");
            }

            writer.WriteStartArray("params");
            foreach (string param in options.Params)
            {
                writer.WriteStringValue(param);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("disks");
            foreach (DiskOption disk in options.Disks)
            {
                writer.WriteStartObject();
                writer.WriteString("option", disk.Option);
                writer.WriteString("path", disk.Path);
                writer.WriteBoolean("readOnly", disk.ReadOnly);
                writer.WriteBoolean("root", disk.Root);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("serials");
            foreach (SerialOption serial in options.Serials)
            {
                writer.WriteStartObject();
                writer.WriteString("type", serial.Type);
                writer.WriteString("path", serial.Path);
                writer.WriteBoolean("console", serial.Console);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        AtomicFile.WriteAllBytes(path, buffer.ToArray());
    }
}
