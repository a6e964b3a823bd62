using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// Spawning an empty tasklet (<c>() =&gt; Task.CompletedTask</c>), running it and joining it with
/// <c>await</c>. One operation is one tasklet; each invocation spawns 100,000 from a main tasklet
/// on a fresh loop.
/// </summary>
[MemoryDiagnoser]
public class SpawnBenchmarks
{
    private const int Count = 100_000;
    private const int Batch = 1_000;

    private static readonly Func<Task> s_empty = () => Task.CompletedTask;

    /// <summary>Spawn one, await it (the main tasklet parks until it has run), repeat.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public void SpawnAwait() => RunMain(static async () =>
    {
        for (int i = 0; i < Count; i++)
        {
            var t = Tasklet.Spawn(s_empty);
            await t;
        }
    });

    /// <summary>Spawn 1,000, then await each; 100 such batches.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public void SpawnBatchAwait() => RunMain(static () => SpawnThenAwait(Batch));

    /// <summary>Spawn all 100,000 at once, then await each (the ready queue grows to hold them).</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public void SpawnAllAwait() => RunMain(static () => SpawnThenAwait(Count));

    private static async Task SpawnThenAwait(int batch)
    {
        var tasklets = new Tasklet[batch];
        for (int done = 0; done < Count; done += batch)
        {
            for (int i = 0; i < batch; i++) tasklets[i] = Tasklet.Spawn(s_empty);
            for (int i = 0; i < batch; i++) await tasklets[i];
        }
    }

    private static void RunMain(Func<Task> main)
    {
        using var loop = new EventLoop();
        loop.Spawn(main);
        loop.Run();
    }
}
