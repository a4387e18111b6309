namespace FakeCrosvm.KeyValues;

/// <summary>The key=value schemas of the run options the fake understands (first field = implicit key).</summary>
internal static class Schemas
{
    public static readonly KeyValueSchema Block = new(
        new KeyValueField("path", FieldKind.String, Required: true),
        new KeyValueField("ro", FieldKind.Bool),
        new KeyValueField("root", FieldKind.Bool),
        new KeyValueField("sparse", FieldKind.Bool),
        new KeyValueField("direct", FieldKind.Bool) { Aliases = ["o_direct"] },
        new KeyValueField("lock", FieldKind.Bool),
        new KeyValueField("block-size", FieldKind.Number) { Aliases = ["block_size"] },
        new KeyValueField("id", FieldKind.String),
        new KeyValueField("multiple-workers", FieldKind.Bool),
        new KeyValueField("async-executor", FieldKind.Enum) { Aliases = ["async_executor"], Variants = ["epoll", "uring"] },
        new KeyValueField("packed-queue", FieldKind.Bool),
        new KeyValueField("bootindex", FieldKind.Number),
        new KeyValueField("pci-address", FieldKind.String),
        new KeyValueField("dontcache", FieldKind.Bool));

    public static readonly KeyValueSchema Serial = new(
        new KeyValueField("type", FieldKind.Enum) { Variants = ["stdout", "file", "sink", "syslog", "unix", "unix-stream"] },
        new KeyValueField("hardware", FieldKind.Enum) { Variants = ["serial", "virtio-console", "legacy-virtio-console", "debugcon"] },
        new KeyValueField("name", FieldKind.String),
        new KeyValueField("path", FieldKind.String),
        new KeyValueField("input", FieldKind.String),
        new KeyValueField("input-unix-stream", FieldKind.Bool),
        new KeyValueField("num", FieldKind.Number),
        new KeyValueField("console", FieldKind.Bool),
        new KeyValueField("earlycon", FieldKind.Bool),
        new KeyValueField("stdin", FieldKind.Bool),
        new KeyValueField("out-timestamp", FieldKind.Bool) { Aliases = ["out_timestamp"] },
        new KeyValueField("debugcon-port", FieldKind.Number),
        new KeyValueField("pci-address", FieldKind.String),
        new KeyValueField("max-queue-sizes", FieldKind.Bracketed));

    public static readonly KeyValueSchema Memory = new(
        new KeyValueField("size", FieldKind.Number));

    public static readonly KeyValueSchema Cpus = new(
        new KeyValueField("num-cores", FieldKind.Number),
        new KeyValueField("clusters", FieldKind.Bracketed),
        new KeyValueField("core-types", FieldKind.Bracketed),
        new KeyValueField("boot-cpu", FieldKind.Number),
        new KeyValueField("sve", FieldKind.Bracketed));

    public static readonly KeyValueSchema Vsock = new(
        new KeyValueField("cid", FieldKind.Number, Required: true),
        new KeyValueField("device", FieldKind.String),
        new KeyValueField("max-queue-sizes", FieldKind.Bracketed));
}
