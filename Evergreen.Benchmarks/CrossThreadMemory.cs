using System.Diagnostics;

namespace Evergreen.Benchmarks;

/// <summary>
/// Memory per callback queued through <see cref="EventLoop.CallFromThread"/>
/// (<c>-- --cross-thread-memory</c>; not a BenchmarkDotNet benchmark). A thread posts 1,000,000
/// callbacks to a loop that is not running; <see cref="GC.GetTotalMemory(bool)"/> before and after,
/// divided by the count, is what each waiting callback holds: once with one cached delegate (the
/// queue's slot alone), once with a closure per call (slot, delegate and closure). Then the flood
/// of issue 11: 4 threads post 1,000,000 calls each to a running loop, counting the calls accepted
/// and refused (<see cref="EventLoop.CrossThreadCapacity"/>) and sampling the managed heap's peak
/// growth. Numbers go in docs/design.md ("The cross-thread door").
/// </summary>
internal static class CrossThreadMemory
{
    private const int Count = 1_000_000;
    private static int s_ran;
    private static readonly Action s_cached = static () => s_ran++;

    public static int Run()
    {
        Console.WriteLine($"one cached delegate:  {Queued(_ => s_cached):F1} B per waiting callback");
        Console.WriteLine($"a closure per call:   {Queued(i => () => s_ran += i):F1} B per waiting callback");
        Flood();
        return 0;
    }

    private static double Queued(Func<int, Action> callback)
    {
        using var loop = new EventLoop();
        long before = Settled();
        var poster = new Thread(() =>
        {
            for (int i = 0; i < Count; i++) loop.CallFromThread(callback(i));
        });
        poster.Start();
        poster.Join();
        double perCall = (Settled() - before) / (double)Count;
        loop.Run();
        return perCall;
    }

    private static void Flood()
    {
        long baseline = Settled();
        long accepted = 0, refused = 0, peak = 0;
        var clock = Stopwatch.StartNew();
        using (var loop = new EventLoop())
        {
            var posters = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                for (int i = 0; i < Count; i++)
                {
                    if (loop.TryCallFromThread(s_cached)) Interlocked.Increment(ref accepted);
                    else Interlocked.Increment(ref refused);
                }
            })).ToList();
            var sampler = new Thread(() =>
            {
                while (posters.Any(t => t.IsAlive))
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
                    Thread.Sleep(1);
                }
            });
            loop.Spawn(async () =>
            {
                posters.ForEach(t => t.Start());
                sampler.Start();
                while (posters.Any(t => t.IsAlive)) await Tasklet.Sleep(TimeSpan.FromMilliseconds(1));
            });
            loop.Run();
            sampler.Join();
        }
        Console.WriteLine($"4 threads x {Count:N0} calls: {accepted:N0} accepted, {refused:N0} refused (capacity {EventLoop.DefaultCrossThreadCapacity:N0}), " +
            $"managed heap peak +{peak / 1048576.0:F0} MiB, {clock.ElapsedMilliseconds} ms");
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(true);
    }
}
