using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// Executors. <c>TaskletPoolMap</c>: <c>TaskletPoolExecutor(64).MapAsync(x =&gt; x + 1, items)</c>
/// over 100,000 items, consumed with <c>await foreach</c> (issue 4's benchmark); one operation is
/// one item submitted, run by a worker tasklet and handed back in order, so the allocation column
/// is bytes per item. <c>ThreadPoolSubmitAwait</c>: <c>await threads.Submit(() =&gt; 1)</c> on a
/// <c>ThreadPoolExecutor(1)</c>, a round trip to a pool thread and back through CallFromThread (the
/// executor's counterpart of <c>OffloadBenchmarks</c>).
/// </summary>
[MemoryDiagnoser]
public class ExecutorBenchmarks
{
    private const int Items = 100_000;
    private const int RoundTrips = 10_000;
    private static readonly int[] s_items = Enumerable.Range(0, Items).ToArray();
    private static readonly Func<int, int> s_plusOne = static x => x + 1;
    private static readonly Func<int> s_one = static () => 1;

    [Benchmark(OperationsPerInvoke = Items)]
    public long TaskletPoolMap()
    {
        using var loop = new EventLoop();
        long sum = 0;
        loop.Spawn(async () =>
        {
            await using var pool = new TaskletPoolExecutor(64);
            await foreach (var r in pool.MapAsync(s_plusOne, s_items)) sum += r;
        });
        loop.Run();
        if (sum != (long)Items * (Items + 1) / 2) throw new InvalidOperationException($"wrong sum {sum}");
        return sum;
    }

    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void ThreadPoolSubmitAwait()
    {
        using var loop = new EventLoop();
        loop.Spawn(static async () =>
        {
            await using var threads = new ThreadPoolExecutor(1);
            for (int i = 0; i < RoundTrips; i++) await threads.Submit(s_one);
        });
        loop.Run();
    }
}
