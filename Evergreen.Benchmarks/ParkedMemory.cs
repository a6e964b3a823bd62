namespace Evergreen.Benchmarks;

/// <summary>
/// Memory per parked tasklet (<c>-- --memory</c>; not a BenchmarkDotNet benchmark). Parks 100,000
/// tasklets on one static <see cref="WaitQueue"/> (body: a static async method, so no closure per
/// spawn), measures <see cref="GC.GetTotalMemory(bool)"/> before spawning and while all are parked,
/// and divides by 100,000; then wakes them all so the loop ends cleanly. A first, unmeasured round
/// grows the loop's ready queue (which never shrinks) and JIT-compiles everything, so the measured
/// round sees only what the parked tasklets themselves hold. The breakdown counts the bytes each
/// step allocates (<see cref="GC.GetAllocatedBytesForCurrentThread"/>): the Tasklet, the context
/// Start creates, and the async state machine box the body allocates when it first parks.
/// For comparison, the same with plain async methods awaiting one TaskCompletionSource's Task.
/// </summary>
internal static class ParkedMemory
{
    private const int Count = 100_000;
    private const int TargetBytes = 250;

    private static readonly WaitQueue s_queue = new("the memory probe");
    private static readonly Func<Task> s_park = ParkBody;
    private static readonly Func<Task> s_empty = static () => Task.CompletedTask;

    private static async Task ParkBody() => await s_queue.ParkAsync();

    /// <summary>Prints the measure; the target is reported, not enforced (the exit code is 0).</summary>
    public static int Run()
    {
        double perTasklet = 0;
        (double tasklet, double context, double box, double emptyStart) parts = default;
        using (var loop = new EventLoop())
        {
            loop.Spawn(async () =>
            {
                await Round();                 // warm-up: ready queue at full size, code jitted
                perTasklet = await Round();
                parts = await Breakdown();
            }, "probe");
            loop.Run();
            if (loop.LiveTaskletCount != 0) throw new InvalidOperationException("tasklets left alive");
        }
        double taskBaseline = PlainTaskBaseline();

        Console.WriteLine($"Parked tasklets: {Count:N0} on one WaitQueue (.NET {Environment.Version}, " +
            $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, {Environment.ProcessorCount} cores)");
        Console.WriteLine($"  retained per parked tasklet (GC.GetTotalMemory): {perTasklet,7:F1} B   target <= {TargetBytes} B: {(perTasklet <= TargetBytes ? "met" : "MISSED")}");
        Console.WriteLine($"  allocated per tasklet, by step:");
        Console.WriteLine($"    new Tasklet(body)                          {parts.tasklet,7:F1} B");
        Console.WriteLine($"    Start() (its TaskletContext)               {parts.context,7:F1} B");
        Console.WriteLine($"    first step until parked (the body's box)   {parts.box,7:F1} B");
        Console.WriteLine($"    sum                                        {parts.tasklet + parts.context + parts.box,7:F1} B");
        Console.WriteLine($"  an empty body (() => Task.CompletedTask), spawn to end: {parts.emptyStart,7:F1} B allocated");
        Console.WriteLine($"  baseline: plain async Task awaiting a TaskCompletionSource's Task: {taskBaseline,7:F1} B retained per waiter");
        return 0;
    }

    /// <summary>Parks <see cref="Count"/> tasklets, returns the bytes retained per tasklet, wakes them and waits until they ended.</summary>
    private static async Task<double> Round()
    {
        var loop = EventLoop.Current;
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < Count; i++) _ = Tasklet.Spawn(s_park);
        while (s_queue.Count < Count) await Tasklet.Yield();
        long parked = GC.GetTotalMemory(forceFullCollection: true);
        int woken = s_queue.UnparkAll();
        if (woken != Count) throw new InvalidOperationException($"woke {woken}, expected {Count}");
        while (loop.LiveTaskletCount > 1) await Tasklet.Yield();
        return (parked - before) / (double)Count;
    }

    /// <summary>Bytes allocated by each step of a parked tasklet's life, averaged over <see cref="Count"/>.</summary>
    private static async Task<(double, double, double, double)> Breakdown()
    {
        var tasklets = new Tasklet[Count];
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Count; i++) tasklets[i] = new Tasklet(s_park);
        long a1 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Count; i++) tasklets[i].Start();
        long a2 = GC.GetAllocatedBytesForCurrentThread();
        while (s_queue.Count < Count) await Tasklet.Yield();
        long a3 = GC.GetAllocatedBytesForCurrentThread();
        s_queue.UnparkAll();
        var loop = EventLoop.Current;
        while (loop.LiveTaskletCount > 1) await Tasklet.Yield();

        Array.Clear(tasklets);
        long e0 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Count; i++) _ = Tasklet.Spawn(s_empty);
        while (loop.LiveTaskletCount > 1) await Tasklet.Yield();
        long e1 = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(tasklets);
        return ((a1 - a0) / (double)Count, (a2 - a1) / (double)Count, (a3 - a2) / (double)Count, (e1 - e0) / (double)Count);
    }

    private static TaskCompletionSource s_tcs = new();

    private static async Task TaskBody() => await s_tcs.Task;

    /// <summary>The same measure for ordinary async methods all awaiting one TaskCompletionSource.</summary>
    private static double PlainTaskBaseline()
    {
        var tasks = new Task[Count];
        for (int round = 0; round < 2; round++)
        {
            s_tcs = new TaskCompletionSource();
            long before = GC.GetTotalMemory(forceFullCollection: true);
            for (int i = 0; i < Count; i++) tasks[i] = TaskBody();
            long waiting = GC.GetTotalMemory(forceFullCollection: true);
            s_tcs.SetResult();
            Task.WaitAll(tasks);
            Array.Clear(tasks);
            if (round == 1) return (waiting - before) / (double)Count;
        }
        return 0;
    }
}
