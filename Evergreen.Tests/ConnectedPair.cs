using System.Net;
using Evergreen.IO;

namespace Evergreen.Tests;

/// <summary>
/// A connected TCP pair over 127.0.0.1 for stream tests: a listening server on an ephemeral port,
/// the client's <see cref="TcpStream"/> and the server's accepted connection. Disposing it closes
/// both streams and the server. Create it in a tasklet.
/// </summary>
internal sealed class ConnectedPair : IAsyncDisposable
{
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    private ConnectedPair(TcpServer server, TcpStream client, TcpConnection accepted)
    {
        Server = server;
        Client = client;
        Accepted = accepted;
    }

    /// <summary>The listening server (still listening: a test may accept more).</summary>
    public TcpServer Server { get; }

    /// <summary>The client's end.</summary>
    public TcpStream Client { get; }

    /// <summary>The server's end, as accepted.</summary>
    public TcpConnection Accepted { get; }

    /// <summary>A listening server on 127.0.0.1 (or <paramref name="at"/>) and an ephemeral port.</summary>
    public static TcpServer Listen(IPEndPoint? at = null)
    {
        var server = new TcpServer();
        server.Bind(at ?? AnyLoopbackPort);
        server.Listen();
        return server;
    }

    /// <summary>Listens, connects and accepts: both ends are open when this returns.</summary>
    public static async Task<ConnectedPair> OpenAsync()
    {
        var server = Listen();
        try
        {
            // A tasklet waits on one thing at a time: the accept gets its own.
            var accepting = Tasklet.Spawn(async () => await server.AcceptAsync(), "accept");
            var client = await TcpStream.ConnectAsync(server.LocalEndPoint!);
            return new ConnectedPair(server, client, await accepting);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Accepted.DisposeAsync();
        await Server.DisposeAsync();
    }
}
