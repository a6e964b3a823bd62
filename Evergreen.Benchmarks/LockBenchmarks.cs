using BenchmarkDotNet.Attributes;
using Evergreen.Sync;

namespace Evergreen.Benchmarks;

/// <summary>
/// <c>AsyncLock</c>: uncontended acquire and release, and a handoff between two tasklets that
/// take turns (each holds the lock across a yield, so every acquire parks and every release hands
/// the lock to the other). Compared with <c>SemaphoreSlim(1)</c> used as a lock on the same loop.
/// One operation is one acquire and one release.
/// </summary>
[MemoryDiagnoser]
public class LockBenchmarks
{
    private const int Operations = 100_000;

    [Benchmark(OperationsPerInvoke = Operations)]
    public void Uncontended()
    {
        using var loop = new EventLoop();
        var gate = new AsyncLock();
        loop.Spawn(async () =>
        {
            for (int i = 0; i < Operations; i++)
            {
                await gate.AcquireAsync();
                gate.Release();
            }
        });
        loop.Run();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public void Handoff()
    {
        using var loop = new EventLoop();
        var gate = new AsyncLock();
        for (int t = 0; t < 2; t++)
        {
            loop.Spawn(async () =>
            {
                for (int i = 0; i < Operations / 2; i++)
                {
                    await gate.AcquireAsync();
                    await Tasklet.Yield();
                    gate.Release();
                }
            });
        }
        loop.Run();
    }

    [Benchmark(OperationsPerInvoke = Operations)]
    public void SemaphoreSlimHandoff()
    {
        using var loop = new EventLoop();
        var gate = new SemaphoreSlim(1);
        for (int t = 0; t < 2; t++)
        {
            loop.Spawn(async () =>
            {
                for (int i = 0; i < Operations / 2; i++)
                {
                    await gate.WaitAsync();
                    await Tasklet.Yield();
                    gate.Release();
                }
            });
        }
        loop.Run();
    }
}
