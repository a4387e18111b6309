namespace FakeCrosvm.Vm;

/// <summary>Where fake guest console output goes.</summary>
internal enum ConsoleTargetKind
{
    /// <summary>The fake's stdout (serial <c>type=stdout</c>, or the default COM1).</summary>
    Stdout,

    /// <summary>A file opened append+create (serial <c>type=file,console</c>).</summary>
    File,

    /// <summary>Datagrams to a unix socket, one per line (serial <c>type=unix,console</c>).</summary>
    UnixDatagram,
}
