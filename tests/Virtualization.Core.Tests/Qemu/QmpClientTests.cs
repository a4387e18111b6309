using System.Net.Sockets;
using System.Text.Json;
using Virtualization.Core.Qemu;

namespace Virtualization.Core.Tests.Qemu;

/// <summary>
/// <see cref="QmpClient"/> against a <see cref="ScriptedQmpServer"/>: the negotiation, the exact bytes of commands,
/// replies matched by id, errors, events, the connection closing, cancellation and dispose. No QEMU.
/// </summary>
public sealed class QmpClientTests
{
    private const string ShutdownEvent =
        "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}";

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_NoSocketFile_ReturnsNull()
    {
        await using var server = new ScriptedQmpServer();

        QmpClient? client = await QmpClient.TryConnectAsync(Path.Combine(server.Folder, "absent.sock"), CancellationToken.None);

        client.Should().BeNull();
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_SocketFileThatDoesNotListen_ReturnsNull()
    {
        await using var server = new ScriptedQmpServer();
        string path = Path.Combine(server.Folder, "bound.sock");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(path)); // bound, never listening: connect is refused

        QmpClient? client = await QmpClient.TryConnectAsync(path, CancellationToken.None);

        client.Should().BeNull();
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_GreetingWithoutQmpMember_ThrowsIOExceptionAndHangsUp()
    {
        await using var server = new ScriptedQmpServer();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptAsync();

        await qemu.SendLineAsync("{\"return\": {}}");

        await connect.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>().WithMessage("QEMU did not greet on its QMP socket.");
        (await qemu.ReadToEndAsync()).Should().BeEmpty("the client sent nothing (no capabilities) and closed the socket");
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_ServerHangsUpBeforeTheGreeting_ThrowsIOException()
    {
        await using var server = new ScriptedQmpServer();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptAsync();

        qemu.Dispose();

        await connect.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>().WithMessage("QEMU did not greet on its QMP socket.");
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_GreetingThatIsNotJson_ThrowsJsonExceptionAndHangsUp()
    {
        await using var server = new ScriptedQmpServer();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptAsync();

        await qemu.SendLineAsync("QMP ready");

        await connect.Awaiting(t => t).Should().ThrowAsync<JsonException>();
        (await qemu.ReadToEndAsync()).Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_CapabilitiesRefusedThenHangUp_IgnoresTheErrorAndThrowsClosedDuringNegotiation()
    {
        await using var server = new ScriptedQmpServer();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptAsync();
        await qemu.SendLineAsync(ScriptedQmpConnection.Greeting);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"qmp_capabilities\"}\n");

        // The error is not a "return": the client keeps reading for one, and the hang-up ends the negotiation.
        await qemu.SendLineAsync("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete, command ignored\"}}");
        qemu.CloseOutput();

        await connect.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>().WithMessage("QEMU closed its QMP socket during negotiation.");
        (await qemu.ReadToEndAsync()).Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_EventsBeforeTheCapabilitiesReply_AreObserved()
    {
        await using var server = new ScriptedQmpServer();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptAsync();
        await qemu.SendLineAsync(ScriptedQmpConnection.Greeting);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"qmp_capabilities\"}\n");

        await qemu.SendLineAsync("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-reset\"}}");
        await qemu.SendLineAsync("{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}");
        await qemu.SendLineAsync("{\"return\": {}}");

        await using QmpClient client = (await connect)!;
        client.ShutdownReason.Should().Be("guest-reset");
        client.Panicked.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task TryConnectAsync_CancelledWhileWaitingForTheGreeting_ThrowsAndHangsUp()
    {
        await using var server = new ScriptedQmpServer();
        using var cts = new CancellationTokenSource();
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, cts.Token);
        ScriptedQmpConnection qemu = await server.AcceptAsync();

        await cts.CancelAsync();

        await connect.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        (await qemu.ReadToEndAsync()).Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecuteAsync_WritesTheCommandWithIdAndArguments_AndReturnsItsReturnValue()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;

        Task<JsonElement> query = client.ExecuteAsync("query-balloon", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":1}\n");
        await qemu.SendLineAsync("{\"return\": {\"actual\": 1073741824}, \"id\": 1}");
        JsonElement balloon = await query;

        Task<JsonElement> set = client.ExecuteAsync("balloon", "{\"value\":536870912}", CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"balloon\",\"arguments\":{\"value\":536870912},\"id\":2}\n");
        await qemu.SendLineAsync("{\"return\": {}, \"id\": 2}");
        JsonElement empty = await set;

        // Read after the reply's document was disposed: the value is the client's own copy.
        balloon.GetProperty("actual").GetInt64().Should().Be(1073741824);
        empty.ValueKind.Should().Be(JsonValueKind.Object);
        empty.EnumerateObject().Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task SendAsync_WritesTheCommandWithoutId()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;

        await client.SendAsync("system_powerdown", CancellationToken.None);

        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"system_powerdown\"}\n");
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecuteAsync_RepliesOutOfOrderBetweenEventsAndBlankLines_EachCommandGetsItsOwn()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;

        Task<JsonElement> status = client.ExecuteAsync("query-status", null, CancellationToken.None);
        Task<JsonElement> balloon = client.ExecuteAsync("query-balloon", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":2}\n");

        await qemu.SendLineAsync("{\"event\": \"STOP\"}");
        await qemu.SendAsync("\r\n\n");
        await qemu.SendLineAsync("{\"return\": {\"actual\": 2}, \"id\": 2}");
        (await balloon).GetProperty("actual").GetInt64().Should().Be(2);
        status.IsCompleted.Should().BeFalse("its reply has not come yet");
        await qemu.SendLineAsync("{\"event\": \"RESUME\"}");
        await qemu.SendLineAsync("{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 1}");

        (await status).GetProperty("status").GetString().Should().Be("running");
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecuteAsync_RepliesThatMatchNoPendingCommand_AreIgnored()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;
        Task<JsonElement> query = client.ExecuteAsync("query-status", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");

        await qemu.SendLineAsync("{\"return\": {\"n\": 7}, \"id\": 7}");      // no such command
        await qemu.SendLineAsync("{\"return\": {\"n\": 8}, \"id\": \"1\"}");  // not a number
        await qemu.SendLineAsync("{\"return\": {\"n\": 9}, \"id\": 1.5}");    // not an integer
        await qemu.SendLineAsync("{\"id\": 1}");                              // neither return nor error
        await qemu.SendLineAsync("{\"return\": {}}");                         // no id, no event
        await qemu.SendLineAsync("{\"return\": {\"n\": 1}, \"id\": 1}");

        (await query).GetProperty("n").GetInt32().Should().Be(1);
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecuteAsync_ErrorReply_ThrowsQmpErrorExceptionWithClassAndDescription()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;

        Task<JsonElement> full = client.ExecuteAsync("balloon", "{\"value\":0}", CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"balloon\",\"arguments\":{\"value\":0},\"id\":1}\n");
        await qemu.SendLineAsync("{\"error\": {\"class\": \"DeviceNotActive\", \"desc\": \"No balloon device has been activated\"}, \"id\": 1}");
        QmpErrorException e = (await full.Awaiting(t => t).Should().ThrowExactlyAsync<QmpErrorException>()).Which;
        e.ErrorClass.Should().Be("DeviceNotActive");
        e.Description.Should().Be("No balloon device has been activated");
        e.Message.Should().Be("DeviceNotActive: No balloon device has been activated");
        e.Should().BeAssignableTo<IOException>("callers treat a refusal like a failed exchange");

        Task<JsonElement> bare = client.ExecuteAsync("stop", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"stop\",\"id\":2}\n");
        await qemu.SendLineAsync("{\"error\": {}, \"id\": 2}");
        QmpErrorException empty = (await bare.Awaiting(t => t).Should().ThrowExactlyAsync<QmpErrorException>()).Which;
        empty.ErrorClass.Should().BeEmpty();
        empty.Description.Should().BeEmpty();

        Task<JsonElement> nulls = client.ExecuteAsync("cont", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"cont\",\"id\":3}\n");
        await qemu.SendLineAsync("{\"error\": {\"class\": null, \"desc\": null}, \"id\": 3}");
        QmpErrorException nullish = (await nulls.Awaiting(t => t).Should().ThrowExactlyAsync<QmpErrorException>()).Which;
        nullish.ErrorClass.Should().BeEmpty();
        nullish.Description.Should().BeEmpty();
    }

    [Fact(Timeout = 30_000)]
    public async Task Events_ShutdownReasonIsTheLastOneGiven_PanicSticks_RepliesAreNeverEvents()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;
        client.ShutdownReason.Should().BeNull();
        client.Panicked.Should().BeFalse();

        // Messages with an id are replies, whatever else they carry.
        await qemu.SendLineAsync("{\"event\": \"GUEST_PANICKED\", \"id\": 40}");
        await qemu.SendLineAsync("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true, \"reason\": \"guest-panic\"}, \"id\": 41}");
        await SyncAsync(client, qemu, 1);
        client.ShutdownReason.Should().BeNull();
        client.Panicked.Should().BeFalse();

        await qemu.SendLineAsync(ShutdownEvent);
        await qemu.SendLineAsync("{\"event\": \"POWERDOWN\"}");
        await SyncAsync(client, qemu, 2);
        client.ShutdownReason.Should().Be("guest-shutdown");
        client.Panicked.Should().BeFalse();

        await qemu.SendLineAsync("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}");
        await qemu.SendLineAsync("{\"event\": \"SHUTDOWN\"}");                            // no data: keeps the reason
        await qemu.SendLineAsync("{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false}}"); // no reason: keeps it
        await qemu.SendLineAsync("{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}");
        await qemu.SendLineAsync("{\"event\": \"RESUME\"}");
        await SyncAsync(client, qemu, 3);
        client.ShutdownReason.Should().Be("host-qmp-quit");
        client.Panicked.Should().BeTrue();
    }

    [Fact(Timeout = 30_000)]
    public async Task ServerHangsUp_PendingCommandFailsWithIOException_CompletionEnds_LaterCommandsFailAtOnce()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;
        Task<JsonElement> pending = client.ExecuteAsync("query-status", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");
        client.Completion.IsCompleted.Should().BeFalse();

        await qemu.SendLineAsync(ShutdownEvent);
        qemu.CloseOutput();

        await pending.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>()
            .WithMessage("QEMU closed its QMP socket before it answered (it exited).");
        await client.Completion; // ends without an error
        client.ShutdownReason.Should().Be("guest-shutdown", "every event before the hang-up was read");
        await client.Awaiting(c => c.ExecuteAsync("cont", null, CancellationToken.None)).Should().ThrowExactlyAsync<IOException>()
            .WithMessage("QEMU closed its QMP socket.");
        await client.DisposeAsync();
        (await qemu.ReadToEndAsync()).Should().BeEmpty("nothing was written for the command refused after the hang-up");
    }

    [Fact(Timeout = 30_000)]
    public async Task MalformedLineAfterNegotiation_EndsReadingWithJsonException_AndFailsThePendingCommand()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;
        Task<JsonElement> pending = client.ExecuteAsync("query-status", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");

        await qemu.SendLineAsync("{\"return\": {\"status\": \"running\"}, \"id\": 1");

        await pending.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>()
            .WithMessage("QEMU closed its QMP socket before it answered (it exited).");
        await client.Awaiting(c => c.Completion).Should().ThrowAsync<JsonException>();
        await client.Awaiting(c => c.ExecuteAsync("cont", null, CancellationToken.None)).Should().ThrowExactlyAsync<IOException>()
            .WithMessage("QEMU closed its QMP socket.");
    }

    [Fact(Timeout = 30_000)]
    public async Task ExecuteAsync_Cancelled_ThrowsAndALateReplyIsIgnored()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        await using QmpClient _ = client;
        using var cts = new CancellationTokenSource();
        Task<JsonElement> pending = client.ExecuteAsync("query-status", null, cts.Token);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");

        await cts.CancelAsync();

        await pending.Awaiting(t => t).Should().ThrowAsync<OperationCanceledException>();
        client.PendingCommands.Should().Be(0, "a cancelled command is forgotten, not kept waiting for a reply");
        await qemu.SendLineAsync("{\"return\": {\"late\": true}, \"id\": 1}");

        // Already cancelled: nothing is written, but the id is used up.
        await client.Awaiting(c => c.ExecuteAsync("stop", null, cts.Token)).Should().ThrowAsync<OperationCanceledException>();

        Task<JsonElement> next = client.ExecuteAsync("query-balloon", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-balloon\",\"id\":3}\n");
        await qemu.SendLineAsync("{\"return\": {\"actual\": 3}, \"id\": 3}");
        (await next).GetProperty("actual").GetInt64().Should().Be(3);
        client.PendingCommands.Should().Be(0);
    }

    [Fact(Timeout = 30_000)]
    public async Task DisposeAsync_HangsUp_EndsCompletion_AndFailsThePendingCommand()
    {
        await using var server = new ScriptedQmpServer();
        (QmpClient client, ScriptedQmpConnection qemu) = await ConnectAsync(server);
        Task<JsonElement> pending = client.ExecuteAsync("query-status", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be("{\"execute\":\"query-status\",\"id\":1}\n");

        await client.DisposeAsync();

        (await qemu.ReadToEndAsync()).Should().BeEmpty("the client closed its socket");
        client.Completion.IsCompleted.Should().BeTrue();
        await pending.Awaiting(t => t).Should().ThrowExactlyAsync<IOException>()
            .WithMessage("QEMU closed its QMP socket before it answered (it exited).");
    }

    private static async Task<(QmpClient Client, ScriptedQmpConnection Qemu)> ConnectAsync(ScriptedQmpServer server)
    {
        Task<QmpClient?> connect = QmpClient.TryConnectAsync(server.SocketPath, CancellationToken.None);
        ScriptedQmpConnection qemu = await server.AcceptNegotiatedAsync();
        QmpClient? client = await connect;
        client.Should().NotBeNull("a listening QEMU that greets and accepts qmp_capabilities gives a connected client");
        return (client!, qemu);
    }

    /// <summary>Round-trips command <paramref name="id"/>: every line sent before its reply has then been read.</summary>
    private static async Task SyncAsync(QmpClient client, ScriptedQmpConnection qemu, int id)
    {
        Task<JsonElement> query = client.ExecuteAsync("query-status", null, CancellationToken.None);
        (await qemu.ReadLineAsync()).Should().Be($"{{\"execute\":\"query-status\",\"id\":{id}}}\n");
        await qemu.SendLineAsync($"{{\"return\": {{\"status\": \"running\"}}, \"id\": {id}}}");
        await query;
    }
}
