// HttpServer: a small HTTP/1.1 server on a TcpServer, one tasklet per connection.
//
// Each connection's tasklet loops: wait for a request, read its head (HttpWire), route it, read
// its whole body (only for a request a handler takes), run the handler, end the reply, and go
// round again while the connection is kept alive; pipelined requests are thus answered in order. Closing drains: no new
// connections, idle ones closed at once, the others end after their current reply, and those
// still busy when the drain runs out are killed (TcpServer.CloseAsync).
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Evergreen.IO.Http;

/// <summary>
/// A small HTTP/1.1 server: routes by method and path, serves static files, keeps connections
/// alive, and answers in Content-Length or chunked replies. Each connection runs in a tasklet of
/// its own, and a handler may await anything.
/// <code>
/// var server = new HttpServer()
///     .MapGet("/", (request, reply) => reply.SendTextAsync(200, "hello"))
///     .MapFiles("/static", "wwwroot");
/// server.Listen(new IPEndPoint(IPAddress.Loopback, 8080));
/// await server.ServeAsync();
/// </code>
/// A server (a handle over the listening socket) belongs to the loop it listens on: loop thread only.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
public sealed partial class HttpServer : IAsyncDisposable
{
    private readonly HashSet<HttpServerConnection> _connections = new();
    private TcpServer? _tcp;
    private EventLoop? _loop;
    private bool _closing;
    private string? _serverName;
    private byte[] _serverLine = [];

    /// <summary>Creates a server with <paramref name="options"/> (defaults if null). Map routes, then <see cref="Listen"/>.</summary>
    public HttpServer(HttpServerOptions? options = null) => Options = options ?? new HttpServerOptions();

    /// <summary>The server's limits and timeouts.</summary>
    public HttpServerOptions Options { get; }

    /// <summary>The address the server listens on (the real port after listening on port 0), or null before <see cref="Listen"/>.</summary>
    public IPEndPoint? LocalEndPoint => _tcp?.LocalEndPoint;

    /// <summary>How many requests were read and answered (routing misses included, malformed requests not).</summary>
    public long RequestCount { get; private set; }

    /// <summary>How many connections are open now.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>True once <see cref="CloseAsync"/> started: replies say <c>Connection: close</c>.</summary>
    internal bool IsClosing => _closing;

    /// <summary>"Server: Evergreen\r\n", remade when <see cref="HttpServerOptions.ServerName"/> changes.</summary>
    internal ReadOnlySpan<byte> ServerHeaderLine
    {
        get
        {
            string name = Options.ServerName;
            if (!ReferenceEquals(name, _serverName))
            {
                _serverLine = Encoding.ASCII.GetBytes("Server: " + name + "\r\n");
                _serverName = name;
            }
            return _serverLine;
        }
    }

    /// <summary>
    /// Binds and listens on <paramref name="endPoint"/> (port 0: the system picks one) and returns
    /// the address bound. Connections wait in the backlog until <see cref="ServeAsync"/> runs.
    /// Not a yield point.
    /// </summary>
    /// <exception cref="UvException">The address cannot be bound (EADDRINUSE...); the server stays unbound.</exception>
    /// <exception cref="InvalidOperationException">Already listening or closed, no loop on this thread, or another thread.</exception>
    public IPEndPoint Listen(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        if (_closing) throw new InvalidOperationException($"Listen: {this} is closed; a server listens once.");
        if (_tcp is not null) throw new InvalidOperationException($"Listen: {this} is already listening; a server listens once.");
        var tcp = new TcpServer();
        try
        {
            tcp.Bind(endPoint);
            tcp.Listen();
        }
        catch
        {
            // The socket's handle is released by a close, which is a yield point; Listen is not.
            EventLoop.Current.Spawn(async () => await tcp.DisposeAsync(), $"closing the socket that {this} failed to bind to {endPoint}");
            throw;
        }
        _tcp = tcp;
        _loop = EventLoop.Current;
        return tcp.LocalEndPoint!;
    }

    /// <summary>
    /// Serves connections, each in a tasklet of its own, until <see cref="CloseAsync"/> has
    /// finished. Killing the serving tasklet (or its deadline passing) closes the server at once,
    /// killing the connections' tasklets, and the kill or timeout then goes on. A yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not listening, already serving, not in a tasklet, or another thread.</exception>
    /// <exception cref="ObjectDisposedException">The server was closed.</exception>
    public Task ServeAsync()
    {
        if (_tcp is null) throw new InvalidOperationException($"ServeAsync: {this} is not listening (call Listen first).");
        return _tcp.ServeAsync(ServeConnectionAsync);
    }

    /// <summary>
    /// Closes the server gracefully: stops accepting, closes idle keep-alive connections at once,
    /// lets requests in flight finish (their replies say <c>Connection: close</c>) for up to
    /// <paramref name="drain"/>, then kills the connections still busy and waits for them to end.
    /// Returns once the listening socket is released; closing twice waits again. A yield point.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not called from a tasklet, or from another thread.</exception>
    public async ValueTask CloseAsync(TimeSpan drain)
    {
        _closing = true;
        if (_tcp is null) return;
        _loop!.VerifyAccess("HttpServer.CloseAsync");
        foreach (var connection in _connections.ToArray())
        {
            if (connection.Idle) connection.Stream.Close(); // its wait ends with ObjectDisposedException
        }
        await _tcp.CloseAsync(drain);
    }

    /// <summary>Closes the server without a drain (see <see cref="CloseAsync"/>).</summary>
    public ValueTask DisposeAsync() => CloseAsync(TimeSpan.Zero);

    /// <summary>Reports a handler's failure through the loop, naming the request and the server.</summary>
    private void Report(Exception error, HttpServerRequest request) =>
        (_loop ?? EventLoop.Current).Report(error, Tasklet.Current, $"the handler of \"{request}\" on {this}");

    /// <inheritdoc/>
    public override string ToString() => $"HttpServer on {LocalEndPoint?.ToString() ?? "(not listening)"}";
}
