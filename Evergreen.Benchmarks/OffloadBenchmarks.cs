using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// A thread-pool round trip from a tasklet: <c>await Offload.RunAsync(() =&gt; 1)</c> against
/// <c>await Task.Run(() =&gt; 1)</c> awaited in the same tasklet on the same loop (its continuation
/// comes back through the tasklet's SynchronizationContext). One operation is one round trip;
/// both cross to a pool thread and back through the loop's CallFromThread queue.
/// </summary>
[MemoryDiagnoser]
public class OffloadBenchmarks
{
    private const int Calls = 10_000;
    private static readonly Func<int> s_one = static () => 1;

    [Benchmark(Baseline = true, OperationsPerInvoke = Calls)]
    public void OffloadRunAsync()
    {
        using var loop = new EventLoop();
        loop.Spawn(static async () =>
        {
            for (int i = 0; i < Calls; i++) await Offload.RunAsync(s_one);
        });
        loop.Run();
    }

    [Benchmark(OperationsPerInvoke = Calls)]
    public void TaskRun()
    {
        using var loop = new EventLoop();
        loop.Spawn(static async () =>
        {
            for (int i = 0; i < Calls; i++) await Task.Run(s_one);
        });
        loop.Run();
    }
}
