using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Evergreen.IO;

namespace Evergreen.Benchmarks;

/// <summary>
/// A UDP ping-pong over 127.0.0.1 between two <see cref="UdpEndpoint"/>s on one loop: tasklet A
/// sends 64 bytes to B and waits for the reply, tasklet B receives and sends them back. One
/// operation is one round trip (two datagrams: two sends, two receive wake-ups). Compared, in the
/// same run, with the same ping-pong written with two .NET <see cref="Socket"/>s and
/// <c>SendToAsync</c>/<c>ReceiveFromAsync</c> (the allocation-free <see cref="SocketAddress"/>
/// overloads) in plain async methods on the thread pool, the way it is written without Evergreen.
/// A lost datagram would stall the ping-pong: the batch runs under a 60 s scope, so it fails
/// loudly instead (loopback does not drop one datagram in flight).
/// </summary>
[MemoryDiagnoser]
public class UdpBenchmarks
{
    private const int RoundTrips = 10_000;
    private const int Size = 64;

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public void EvergreenPingPong()
    {
        EventLoop.Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var toA = a.LocalEndPoint!;
            var toB = b.LocalEndPoint!;
            var payload = new byte[Size];
            using var scope = CancelScope.FailAfter(TimeSpan.FromSeconds(60));
            var pong = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < RoundTrips; i++)
                {
                    var datagram = await b.ReceiveAsync();
                    await b.SendAsync(datagram.Data, toA);
                }
            }, "pong");
            for (int i = 0; i < RoundTrips; i++)
            {
                await a.SendAsync(payload, toB);
                await a.ReceiveAsync();
            }
            await pong;
        });
    }

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void SocketTaskPingPong()
    {
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var toA = a.LocalEndPoint!.Serialize();
        var toB = b.LocalEndPoint!.Serialize();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = timeout.Token;

        async Task Ping()
        {
            var payload = new byte[Size];
            var buffer = new byte[Size];
            var from = new SocketAddress(AddressFamily.InterNetwork);
            for (int i = 0; i < RoundTrips; i++)
            {
                await a.SendToAsync(payload, SocketFlags.None, toB, token);
                await a.ReceiveFromAsync(buffer, SocketFlags.None, from, token);
            }
        }

        async Task Pong()
        {
            var buffer = new byte[Size];
            var from = new SocketAddress(AddressFamily.InterNetwork);
            for (int i = 0; i < RoundTrips; i++)
            {
                int n = await b.ReceiveFromAsync(buffer, SocketFlags.None, from, token);
                await b.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, toA, token);
            }
        }

        var pong = Pong();
        Task.WhenAll(Ping(), pong).GetAwaiter().GetResult();
    }
}
