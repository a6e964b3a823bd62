using BenchmarkDotNet.Attributes;
using Evergreen.Sync;

namespace Evergreen.Benchmarks;

/// <summary>
/// A <see cref="TaskGroup"/> of 1,000 children: open the group, spawn 1,000 tasklets into it,
/// leave the block (wait for all). One operation is one whole group; each invocation runs 100
/// groups from a main tasklet on a fresh loop. The baseline spawns 1,000 plain tasklets and
/// awaits each, the same work without the group, in the same run.
/// </summary>
[MemoryDiagnoser]
public class TaskGroupBenchmarks
{
    private const int Groups = 100;
    private const int Children = 1_000;

    private static readonly Func<Task> s_empty = () => Task.CompletedTask;
    private static readonly Func<Task> s_yieldOnce = static async () => await Tasklet.Yield();

    /// <summary>1,000 plain tasklets, spawned then awaited one by one.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Groups)]
    public void SpawnThousandAwaitEach() => RunMain(static async () =>
    {
        var tasklets = new Tasklet[Children];
        for (int g = 0; g < Groups; g++)
        {
            for (int i = 0; i < Children; i++) tasklets[i] = Tasklet.Spawn(s_empty);
            for (int i = 0; i < Children; i++) await tasklets[i];
        }
    });

    /// <summary>A group of 1,000 empty children.</summary>
    [Benchmark(OperationsPerInvoke = Groups)]
    public void GroupOfThousand() => RunMain(static async () =>
    {
        for (int g = 0; g < Groups; g++)
        {
            await using var group = new TaskGroup();
            for (int i = 0; i < Children; i++) group.Spawn(s_empty);
        }
    });

    /// <summary>A group of 1,000 children that each park once (a yield) before ending.</summary>
    [Benchmark(OperationsPerInvoke = Groups)]
    public void GroupOfThousandYielding() => RunMain(static async () =>
    {
        for (int g = 0; g < Groups; g++)
        {
            await using var group = new TaskGroup();
            for (int i = 0; i < Children; i++) group.Spawn(s_yieldOnce);
        }
    });

    private static void RunMain(Func<Task> main)
    {
        using var loop = new EventLoop();
        loop.Spawn(main);
        loop.Run();
    }
}
