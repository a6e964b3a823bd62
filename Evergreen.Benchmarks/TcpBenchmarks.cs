using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Evergreen.IO;

namespace Evergreen.Benchmarks;

/// <summary>
/// TCP over 127.0.0.1 in one process. <c>EchoRoundTrip</c>: a client tasklet writes 64 bytes and
/// reads them back from an echo tasklet, on one loop (one operation is one round trip: two
/// writes, two reads, four wake-ups through epoll). <c>SocketEchoRoundTrip</c> is the same
/// conversation with plain .NET <see cref="Socket"/>s and async/await on the thread pool, in the
/// same run. <c>Stream1MiB</c> pushes 64 MiB through one connection in 64 KiB writes (one
/// operation is one MiB).
/// </summary>
[MemoryDiagnoser]
public class TcpBenchmarks
{
    private const int RoundTrips = 20_000;
    private const int MiBs = 64;

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public void EchoRoundTrip() => EventLoop.Run(static async () =>
    {
        var server = new TcpServer();
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen();
        var echo = Tasklet.Spawn(async () =>
        {
            await using var conn = await server.AcceptAsync();
            var buffer = new byte[4096];
            int n;
            while ((n = await conn.ReadAsync(buffer)) > 0) await conn.WriteAsync(buffer.AsMemory(0, n));
        });
        await using (var client = await TcpStream.ConnectAsync(server.LocalEndPoint!))
        {
            var message = new byte[64];
            var reply = new byte[64];
            for (int i = 0; i < RoundTrips; i++)
            {
                await client.WriteAsync(message);
                int got = 0;
                while (got < reply.Length) got += await client.ReadAsync(reply.AsMemory(got));
            }
            await client.ShutdownAsync();
            await echo;
        }
        await server.DisposeAsync();
    });

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void SocketEchoRoundTrip() => SocketEchoAsync().GetAwaiter().GetResult();

    private static async Task SocketEchoAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var echo = Task.Run(async () =>
        {
            using var conn = await listener.AcceptAsync();
            conn.NoDelay = true;
            var buffer = new byte[4096];
            int n;
            while ((n = await conn.ReceiveAsync(buffer, SocketFlags.None)) > 0) await conn.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
        });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(listener.LocalEndPoint!);
        var message = new byte[64];
        var reply = new byte[64];
        for (int i = 0; i < RoundTrips; i++)
        {
            await client.SendAsync(message, SocketFlags.None);
            int got = 0;
            while (got < reply.Length) got += await client.ReceiveAsync(reply.AsMemory(got), SocketFlags.None);
        }
        client.Shutdown(SocketShutdown.Send);
        await echo;
    }

    [Benchmark(OperationsPerInvoke = MiBs)]
    public void Stream1MiB() => EventLoop.Run(static async () =>
    {
        var server = new TcpServer();
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen();
        var sink = Tasklet.Spawn(async () =>
        {
            await using var conn = await server.AcceptAsync();
            var buffer = new byte[64 * 1024];
            while (await conn.ReadAsync(buffer) > 0) { }
        });
        await using (var client = await TcpStream.ConnectAsync(server.LocalEndPoint!))
        {
            var chunk = new byte[64 * 1024];
            for (int i = 0; i < MiBs * 16; i++) await client.WriteAsync(chunk);
            await client.ShutdownAsync();
            await sink;
        }
        await server.DisposeAsync();
    });
}
