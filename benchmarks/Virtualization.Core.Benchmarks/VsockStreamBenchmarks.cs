using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Virtualization.Core.Vsock;

namespace Virtualization.Core.Benchmarks;

/// <summary>
/// Throughput of a connected stream made by the library's native socket layer (the path of
/// <c>IVirtualMachine.ConnectVsockAsync</c>: <c>socket()</c> by P/Invoke, wrapped in <see cref="Socket"/>, connected
/// through <see cref="NativeSockets"/>), over <c>AF_UNIX</c>, against a plain .NET <see cref="Socket"/> over
/// <c>AF_UNIX</c>. No AF_VSOCK socket is ever connected.
/// </summary>
/// <remarks>
/// <c>Stream</c> category: <see cref="TotalBytes"/> written in <see cref="ChunkBytes"/> writes on the client stream
/// while the server end reads them into a 64 KiB buffer; the operation ends when the server has read everything.
/// Both pairs are connected once in GlobalSetup. Library pair: <see cref="NativeListener"/> (server) and
/// <see cref="UnixSocketVsockConnector"/> (client). Baseline pair: <c>new Socket(AddressFamily.Unix, …)</c> on both
/// ends. Both are used through <see cref="NetworkStream"/>, as the library hands it out.
/// <c>Connect</c> category: connect + accept + close of one connection on each layer.
/// </remarks>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 20, id: "Short20")]
[MemoryDiagnoser]
public class VsockStreamBenchmarks
{
    public const int TotalBytes = 64 * 1024 * 1024;
    public const int ChunkBytes = 64 * 1024;

    private readonly byte[] _writeBuffer = new byte[ChunkBytes];
    private readonly byte[] _readBuffer = new byte[ChunkBytes];
    private BenchTemp _temp = null!;

    private NativeListener _libraryListener = null!;
    private UnixSocketVsockConnector _connector = null!;
    private Stream _libraryClient = null!;
    private Stream _libraryServer = null!;

    private Socket _plainListener = null!;
    private UnixDomainSocketEndPoint _plainEndPoint = null!;
    private Stream _plainClient = null!;
    private Stream _plainServer = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _temp = new BenchTemp("vsock");
        Random.Shared.NextBytes(_writeBuffer);

        string libraryPath = _temp.Combine("lib.sock");
        _libraryListener = NativeListener.Start(NativeAddress.ForUnix(libraryPath), backlog: 16);
        _connector = new UnixSocketVsockConnector((_, _) => libraryPath);
        (_libraryClient, _libraryServer) = await ConnectLibraryAsync();

        _plainEndPoint = new UnixDomainSocketEndPoint(_temp.Combine("plain.sock"));
        _plainListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _plainListener.Bind(_plainEndPoint);
        _plainListener.Listen(16);
        (_plainClient, _plainServer) = await ConnectPlainAsync();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _libraryClient.Dispose();
        _libraryServer.Dispose();
        _libraryListener.Dispose();
        _plainClient.Dispose();
        _plainServer.Dispose();
        _plainListener.Dispose();
        _temp.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Stream")]
    public Task Plain_Socket_64MiB() => TransferAsync(_plainClient, _plainServer);

    [Benchmark]
    [BenchmarkCategory("Stream")]
    public Task Library_NativeSockets_64MiB() => TransferAsync(_libraryClient, _libraryServer);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Connect")]
    public async Task Plain_Socket_ConnectAcceptClose()
    {
        (Stream client, Stream server) = await ConnectPlainAsync();
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Benchmark]
    [BenchmarkCategory("Connect")]
    public async Task Library_NativeSockets_ConnectAcceptClose()
    {
        (Stream client, Stream server) = await ConnectLibraryAsync();
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    private async Task<(Stream Client, Stream Server)> ConnectLibraryAsync()
    {
        Task<Socket> accept = _libraryListener.AcceptAsync(CancellationToken.None);
        Stream client = (await _connector.ConnectAsync(3, 5000, TimeSpan.FromSeconds(5), CancellationToken.None)).Stream;
        return (client, new NetworkStream(await accept, ownsSocket: true));
    }

    private async Task<(Stream Client, Stream Server)> ConnectPlainAsync()
    {
        Task<Socket> accept = _plainListener.AcceptAsync();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(_plainEndPoint);
        return (new NetworkStream(socket, ownsSocket: true), new NetworkStream(await accept, ownsSocket: true));
    }

    private async Task TransferAsync(Stream client, Stream server)
    {
        Task drain = DrainAsync(server);
        for (int written = 0; written < TotalBytes; written += ChunkBytes)
        {
            await client.WriteAsync(_writeBuffer);
        }

        await drain;
    }

    private async Task DrainAsync(Stream server)
    {
        int remaining = TotalBytes;
        while (remaining > 0)
        {
            int read = await server.ReadAsync(_readBuffer.AsMemory(0, Math.Min(remaining, ChunkBytes)));
            if (read == 0)
            {
                throw new EndOfStreamException($"The stream ended with {remaining} bytes still expected.");
            }

            remaining -= read;
        }
    }
}
