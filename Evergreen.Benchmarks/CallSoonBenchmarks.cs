using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// <c>loop.CallSoon(callback)</c> throughput, outside any tasklet. One operation is one callback
/// scheduled and run; 100,000 per invocation on a fresh loop.
/// </summary>
[MemoryDiagnoser]
public class CallSoonBenchmarks
{
    private const int Calls = 100_000;
    private const int Batch = 1_000;

    private static EventLoop? s_loop;
    private static int s_left;
    private static readonly Action s_chainStep = ChainStep;
    private static readonly Action s_count = static () => s_left--;

    /// <summary>A callback that schedules itself again until it has run 100,000 times.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public void Chain()
    {
        using var loop = new EventLoop();
        s_loop = loop;
        s_left = Calls;
        loop.CallSoon(s_chainStep);
        loop.Run();
        s_loop = null;
        if (s_left != 0) throw new InvalidOperationException($"{s_left} callbacks did not run");
    }

    private static void ChainStep()
    {
        if (--s_left > 0) s_loop!.CallSoon(s_chainStep);
    }

    /// <summary>1,000 callbacks queued, then <c>loop.Run()</c> runs them; 100 such batches.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public void Batched()
    {
        using var loop = new EventLoop();
        s_left = Calls;
        for (int done = 0; done < Calls; done += Batch)
        {
            for (int i = 0; i < Batch; i++) loop.CallSoon(s_count);
            loop.Run();
        }
        if (s_left != 0) throw new InvalidOperationException($"{s_left} callbacks did not run");
    }
}
