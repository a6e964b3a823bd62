using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// <c>await Tasklet.Yield()</c>: one park and one resume through the ready queue. With one tasklet
/// it resumes itself; with 2 or 10 they take turns (ping-pong through the FIFO). One operation is
/// one yield; the loop is created and disposed inside each invocation, amortized over 100,000 yields.
/// </summary>
[MemoryDiagnoser]
public class YieldBenchmarks
{
    private const int Yields = 100_000;

    private static int s_running;

    [Params(1, 2, 10)]
    public int Tasklets;

    /// <summary><c>loop.Run()</c> with nothing but the tasklets: libuv sees no live handle.</summary>
    [Benchmark(OperationsPerInvoke = Yields)]
    public void Yield()
    {
        using var loop = new EventLoop();
        int each = Yields / Tasklets;
        for (int i = 0; i < Tasklets; i++) loop.Spawn(() => YieldMany(each));
        loop.Run();
    }

    /// <summary>
    /// The same yields on a loop that has a live, referenced handle, as any server has (here the
    /// loop's own async handle, referenced by <c>RunForever</c>), so each poll between batches of
    /// ready work is a real <c>epoll_wait</c>. The last tasklet to finish stops the loop.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Yields)]
    public void YieldLiveHandle()
    {
        using var loop = new EventLoop();
        int each = Yields / Tasklets;
        s_running = Tasklets;
        for (int i = 0; i < Tasklets; i++) loop.Spawn(() => YieldManyThenStop(each));
        loop.RunForever();
        if (s_running != 0) throw new InvalidOperationException($"{s_running} tasklets did not finish");
    }

    private static async Task YieldMany(int count)
    {
        for (int i = 0; i < count; i++) await Tasklet.Yield();
    }

    private static async Task YieldManyThenStop(int count)
    {
        for (int i = 0; i < count; i++) await Tasklet.Yield();
        if (--s_running == 0) EventLoop.Current.Stop();
    }
}
