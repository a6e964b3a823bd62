using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// <c>await Tasklet.Sleep(TimeSpan.Zero)</c> in one tasklet, which is documented as a yield: one
/// operation is one zero sleep, amortized over 100,000 per invocation.
/// </summary>
[MemoryDiagnoser]
public class SleepBenchmarks
{
    private const int Sleeps = 100_000;

    [Benchmark(OperationsPerInvoke = Sleeps)]
    public void SleepZero()
    {
        using var loop = new EventLoop();
        loop.Spawn(SleepMany);
        loop.Run();
    }

    private static async Task SleepMany()
    {
        for (int i = 0; i < Sleeps; i++) await Tasklet.Sleep(TimeSpan.Zero);
    }
}
