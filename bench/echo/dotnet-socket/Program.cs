// The plain .NET Socket echo server of bench/echo: the "what you would write with Tasks and
// sockets" row that Evergreen must beat.
//
// Idiomatic and fast, nothing exotic: an accept loop, and per connection one async loop of
// ReceiveAsync(Memory<byte>) into a pooled 64 KiB buffer (the size libuv suggests to uv_echo)
// and SendAsync of exactly the bytes received. The Memory overloads complete through pooled
// IValueTaskSource objects, so the steady state allocates nothing. TCP_NODELAY is on, as in every
// server of the benchmark. Runtime settings stay at their defaults (the run script adds a second
// row with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1, which runs continuations on the epoll
// thread instead of the thread pool).
//
// Usage: dotnet DotnetSocketEcho.dll PORT

using System.Buffers;
using System.Net;
using System.Net.Sockets;

const int Backlog = 1024;
const int BufferSize = 64 * 1024;

if (args.Length < 1 || !int.TryParse(args[0], out int port) || port is <= 0 or > 65535)
{
    Console.Error.WriteLine("usage: DotnetSocketEcho PORT");
    return 2;
}

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
try
{
    listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
    listener.Listen(Backlog);
}
catch (SocketException e)
{
    Console.Error.WriteLine($"DotnetSocketEcho: {e.SocketErrorCode} in listen on 127.0.0.1:{port}: {e.Message}");
    return 1;
}
Console.Error.WriteLine($"DotnetSocketEcho: .NET {Environment.Version}, {Environment.ProcessorCount} CPU(s), " +
    $"inline completions {Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "unset"}, " +
    $"listening on 127.0.0.1:{port}");

while (true)
{
    Socket client = await listener.AcceptAsync();
    client.NoDelay = true;
    _ = EchoAsync(client);
}

static async Task EchoAsync(Socket socket)
{
    byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    try
    {
        while (true)
        {
            int received = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
            if (received == 0)
                break; // the peer half-closed: we are done echoing
            int sent = 0;
            while (sent < received)
                sent += await socket.SendAsync(buffer.AsMemory(sent, received - sent), SocketFlags.None);
        }
    }
    catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
    {
        // the peer went away: only this connection ends
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"DotnetSocketEcho: connection {socket.RemoteEndPoint}: {e}");
    }
    finally
    {
        socket.Dispose();
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
