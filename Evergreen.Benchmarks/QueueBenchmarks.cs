using BenchmarkDotNet.Attributes;
using Evergreen.Sync;

namespace Evergreen.Benchmarks;

/// <summary>
/// <c>AsyncQueue&lt;T&gt;</c> throughput: one producer tasklet puts, one consumer gets, through a
/// bounded queue (the producer parks when it is full, the consumer when it is empty) and an
/// unbounded one; and put/get with no waiting at all. One operation is one item through the queue.
/// </summary>
[MemoryDiagnoser]
public class QueueBenchmarks
{
    private const int Items = 100_000;

    [Params(0, 100)]
    public int MaxSize;

    [Benchmark(OperationsPerInvoke = Items)]
    public void ProducerConsumer()
    {
        using var loop = new EventLoop();
        var queue = new AsyncQueue<int>(MaxSize);
        loop.Spawn(async () =>
        {
            for (int i = 0; i < Items; i++) await queue.PutAsync(i);
        });
        loop.Spawn(async () =>
        {
            for (int i = 0; i < Items; i++) await queue.GetAsync();
        });
        loop.Run();
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public void PutThenGet()
    {
        using var loop = new EventLoop();
        var queue = new AsyncQueue<int>(MaxSize);
        loop.Spawn(async () =>
        {
            for (int i = 0; i < Items; i++)
            {
                await queue.PutAsync(i);
                await queue.GetAsync();
            }
        });
        loop.Run();
    }
}
