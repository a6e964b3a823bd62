using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// Skynet: a tree of 1,111,111 tasks (1,000,000 leaves, 10 children per node, depth 6). Each node
/// starts its 10 children, awaits each in order, and returns the sum; a leaf returns its number.
/// The answer is 499,999,500,000. One operation is the whole tree; it takes 0.2-0.5 s and its time
/// swings with where the gen2 collections fall, so this class measures 15 iterations, not 8.
/// </summary>
[MemoryDiagnoser]
[IterationCount(15)]
[MinColumn, MedianColumn, MaxColumn]
public class SkynetBenchmarks
{
    private const int Leaves = 1_000_000;
    private const long Expected = 499_999_500_000;

    /// <summary>
    /// The baseline: plain <c>async Task&lt;long&gt;</c> methods on this one thread, driven by
    /// <see cref="SingleThreadPump"/>. Each node first awaits <c>Task.Yield()</c>, which posts its
    /// continuation to the pump, so a child is really queued (as a spawned tasklet is) instead of
    /// running to completion inside its parent's call.
    /// </summary>
    [Benchmark(Baseline = true)]
    public long AsyncTasks() => Check(SingleThreadPump.Run(() => TaskNode(0, Leaves)));

    /// <summary>Each node is a tasklet: <c>Tasklet.Spawn&lt;long&gt;(() =&gt; Node(...))</c>, then <c>await</c>.</summary>
    [Benchmark]
    public long Tasklets()
    {
        using var loop = new EventLoop();
        var root = loop.Spawn(static () => TaskletNode(0, Leaves));
        loop.Run();
        return Check(root.Result);
    }

    /// <summary>
    /// The same tree with a <see cref="Tasklet{T}"/> subclass that keeps the node's arguments in
    /// fields (the Thread-subclass pattern), so a spawn allocates no closure and no delegate.
    /// </summary>
    [Benchmark]
    public long TaskletSubclass()
    {
        using var loop = new EventLoop();
        var root = new NodeTasklet(0, Leaves);
        root.Start();
        loop.Run();
        return Check(root.Result);
    }

    private static long Check(long answer) => answer == Expected
        ? answer
        : throw new InvalidOperationException($"skynet answered {answer}, expected {Expected}");

    private static async Task<long> TaskNode(long num, int size)
    {
        await Task.Yield();
        if (size == 1) return num;
        int sub = size / 10;
        var children = new Task<long>[10];
        for (int i = 0; i < 10; i++) children[i] = TaskNode(num + i * sub, sub);
        long sum = 0;
        for (int i = 0; i < 10; i++) sum += await children[i];
        return sum;
    }

    private static async Task<long> TaskletNode(long num, int size)
    {
        if (size == 1) return num;
        var children = new Tasklet<long>[10];
        for (int i = 0; i < 10; i++)
        {
            long n = num + i * (size / 10);
            int s = size / 10;
            children[i] = Tasklet.Spawn(() => TaskletNode(n, s));
        }
        long sum = 0;
        for (int i = 0; i < 10; i++) sum += await children[i];
        return sum;
    }

    private sealed class NodeTasklet(long num, int size) : Tasklet<long>
    {
        protected override Task<long> RunAsync() => Run(num, size);

        private static async Task<long> Run(long num, int size)
        {
            if (size == 1) return num;
            int sub = size / 10;
            var children = new NodeTasklet[10];
            for (int i = 0; i < 10; i++)
            {
                children[i] = new NodeTasklet(num + i * sub, sub);
                children[i].Start();
            }
            long sum = 0;
            for (int i = 0; i < 10; i++) sum += await children[i];
            return sum;
        }
    }
}
