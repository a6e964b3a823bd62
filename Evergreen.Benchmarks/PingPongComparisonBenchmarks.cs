using BenchmarkDotNet.Attributes;
using Evergreen.Sync;
using StcChannel = System.Threading.Channels.Channel;

namespace Evergreen.Benchmarks;

/// <summary>
/// A rendezvous ping-pong between two tasklets: A sends on <c>ping</c> and receives on <c>pong</c>,
/// B the reverse. One operation is one round trip (two sends, two receives, four parks and
/// wakes). Compared, on the same loop and in the same run, with the same ping-pong over
/// <c>System.Threading.Channels</c> bounded(1) channels and over two <c>SemaphoreSlim</c>s: their
/// continuations come back to the tasklets through the tasklet's SynchronizationContext.
/// </summary>
[MemoryDiagnoser]
public class PingPongComparisonBenchmarks
{
    private const int RoundTrips = 100_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public void RendezvousPingPong()
    {
        using var loop = new EventLoop();
        var ping = new AsyncChannel<int>();
        var pong = new AsyncChannel<int>();
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                await ping.SendAsync(i);
                await pong.ReceiveAsync();
            }
        });
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++) await pong.SendAsync(await ping.ReceiveAsync());
        });
        loop.Run();
    }

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void SystemChannelsBounded1PingPong()
    {
        using var loop = new EventLoop();
        var options = new System.Threading.Channels.BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true };
        var ping = StcChannel.CreateBounded<int>(options);
        var pong = StcChannel.CreateBounded<int>(options);
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                await ping.Writer.WriteAsync(i);
                await pong.Reader.ReadAsync();
            }
        });
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++) await pong.Writer.WriteAsync(await ping.Reader.ReadAsync());
        });
        loop.Run();
    }

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void SemaphoreSlimPingPong()
    {
        using var loop = new EventLoop();
        var ping = new SemaphoreSlim(0);
        var pong = new SemaphoreSlim(0);
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                ping.Release();
                await pong.WaitAsync();
            }
        });
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                await ping.WaitAsync();
                pong.Release();
            }
        });
        loop.Run();
    }

    /// <summary>A buffered channel used as a pipe: one tasklet sends, another receives.</summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void Buffered64Stream()
    {
        using var loop = new EventLoop();
        var channel = new AsyncChannel<int>(64);
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++) await channel.SendAsync(i);
        });
        loop.Spawn(async () =>
        {
            for (int i = 0; i < RoundTrips; i++) await channel.ReceiveAsync();
        });
        loop.Run();
    }
}
