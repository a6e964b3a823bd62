using BenchmarkDotNet.Attributes;
using Evergreen.Sync;

namespace Evergreen.Benchmarks;

/// <summary>
/// <see cref="AsyncChannel{T}"/> ping-pong: two tasklets send a value back and forth over two
/// channels. One operation is one round trip (two hand-offs, two parks and two resumes); the loop
/// is created and disposed inside each invocation, amortized over 100,000 round trips. Target for
/// the rendezvous: 150 ns and 0 B per round trip.
/// </summary>
[MemoryDiagnoser]
public class ChannelBenchmarks
{
    private const int Rounds = 100_000;

    /// <summary>0: rendezvous; 1: buffered (a send into the empty buffer never parks).</summary>
    [Params(0, 1)]
    public int Capacity;

    [Benchmark(OperationsPerInvoke = Rounds)]
    public void PingPong()
    {
        using var loop = new EventLoop();
        var ping = new AsyncChannel<int>(Capacity);
        var pong = new AsyncChannel<int>(Capacity);
        loop.Spawn(() => Echo(ping, pong));
        loop.Spawn(() => Serve(ping, pong));
        loop.Run();
    }

    /// <summary>The same round trips where the answering side waits in an <see cref="AsyncSelect"/> (reused) with a second, idle channel.</summary>
    [Benchmark(OperationsPerInvoke = Rounds)]
    public void PingPongSelect()
    {
        using var loop = new EventLoop();
        var ping = new AsyncChannel<int>(Capacity);
        var pong = new AsyncChannel<int>(Capacity);
        var idle = new AsyncChannel<int>();
        loop.Spawn(() => EchoSelect(ping, pong, idle));
        loop.Spawn(() => Serve(ping, pong));
        loop.Run();
    }

    private static async Task Serve(AsyncChannel<int> ping, AsyncChannel<int> pong)
    {
        for (int i = 0; i < Rounds; i++)
        {
            await ping.SendAsync(i);
            if (await pong.ReceiveAsync() != i) throw new InvalidOperationException("wrong value");
        }
    }

    private static async Task Echo(AsyncChannel<int> ping, AsyncChannel<int> pong)
    {
        for (int i = 0; i < Rounds; i++) await pong.SendAsync(await ping.ReceiveAsync());
    }

    private static async Task EchoSelect(AsyncChannel<int> ping, AsyncChannel<int> pong, AsyncChannel<int> idle)
    {
        int value = 0;
        var select = new AsyncSelect().OnReceive(idle, _ => { }).OnReceive(ping, v => value = v);
        for (int i = 0; i < Rounds; i++)
        {
            await select.WaitAsync();
            await pong.SendAsync(value);
        }
    }
}
