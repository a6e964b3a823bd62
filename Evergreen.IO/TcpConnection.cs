using Evergreen.IO.Native;

namespace Evergreen.IO;

/// <summary>
/// A TCP connection accepted by a <see cref="TcpServer"/>: a <see cref="TcpStream"/> that knows
/// its server and leaves the server's <see cref="TcpServer.Connections"/> when it closes.
/// </summary>
public sealed class TcpConnection : TcpStream
{
    internal TcpConnection(TcpServer server, UvTcpHandle handle) : base(server.Loop, handle)
    {
        Server = server;
        _remote = (System.Net.IPEndPoint?)RemoteEndPoint;
    }

    /// <summary>The server that accepted the connection.</summary>
    public TcpServer Server { get; }

    private protected override void OnClosing() => Server.Forget(this);
}
