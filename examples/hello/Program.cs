// A first look at Evergreen: tasklets that sleep, a per-tasklet local, a timeout, a kill.
// Run it with: dotnet run --project examples/hello
using System.Diagnostics;
using Evergreen;

var clock = Stopwatch.StartNew();
var requestId = new TaskletLocal<string>();

void Say(string what) =>
    Console.WriteLine($"[{clock.Elapsed.TotalMilliseconds,6:0} ms] {Tasklet.Current?.Name,-8} ({requestId.Value ?? "-"}): {what}");

EventLoop.Run(async () =>
{
    // Three workers interleave on one thread: each sleep parks one and lets the others run.
    var workers = Enumerable.Range(1, 3).Select(i => Tasklet.Spawn(async () =>
    {
        requestId.Value = $"req-{i}";
        for (int step = 1; step <= 2; step++)
        {
            Say($"step {step}, sleeping {i * 50} ms");
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(i * 50));
        }
        return i * 10;
    }, $"worker{i}")).ToList();

    int total = 0;
    foreach (var w in workers) total += await w;
    Say($"workers returned a total of {total}");

    // A cancel scope: the sleep is cut short and the timeout says how long it was.
    try
    {
        using (CancelScope.FailAfter(TimeSpan.FromMilliseconds(100)))
        {
            await Tasklet.Sleep(TimeSpan.FromSeconds(10));
        }
    }
    catch (TimeoutException e)
    {
        Say($"caught: {e.Message}");
    }

    // Move on after a deadline instead of failing.
    bool finished = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(50), () => Tasklet.Sleep(TimeSpan.FromSeconds(1)));
    Say($"MoveOnAfterAsync finished the work: {finished}");

    // Kill a sleeper: it gets TaskletExit at its park, and its finally block runs.
    var sleeper = Tasklet.Spawn(async () =>
    {
        try { await Tasklet.Sleep(TimeSpan.FromHours(1)); }
        finally { Say("sleeper unwinding after kill"); }
    }, "sleeper");
    await Tasklet.Yield();
    sleeper.Kill();
    await sleeper.JoinAsync();
    Say($"sleeper is {sleeper.State}");
});
Console.WriteLine("loop finished");
