namespace Evergreen.Tests;

/// <summary>
/// Runs a test body as a tasklet on a fresh loop, then checks that the loop ends clean: no
/// tasklet alive, no user handle open, nothing reported as unhandled (unless the test expects
/// it), and, after disposal, no native handle left at all (libuv's MAKE_VALGRIND_HAPPY).
/// </summary>
internal static class TestLoop
{
    /// <summary>How long a test's loop may run before the watchdog stops it and fails the test.</summary>
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(60);

    public static void Run(Func<EventLoop, Task> body, List<LoopExceptionEventArgs>? reports = null)
    {
        var loop = new EventLoop();
        var unexpected = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => (reports ?? unexpected).Add(e);
        Tasklet main;
        bool stoppedByWatchdog = false;
        try
        {
            main = loop.Spawn(() => body(loop), "test");
            main.MarkObserved();
            // A test that leaves a referenced handle open (say it failed before closing it) would
            // keep Run blocked in epoll forever: stop it and fail, naming what was left.
            using (new Timer(_ => loop.TryCallFromThread(() => { stoppedByWatchdog = true; loop.Stop(); }), null, Watchdog, Timeout.InfiniteTimeSpan))
            {
                loop.Run();
            }
            if (stoppedByWatchdog)
            {
                Assert.Fail($"the test's loop was still running after {Watchdog.TotalSeconds} s (test tasklet {main.State}" +
                    (main.Exception is { } error ? $", failed with {error.GetType().Name}: {error.Message}" : "") + "); left open: " +
                    string.Join(", ", loop.GetUserHandles().Select(h => $"{h.Type} {h.Description}")) + "; live tasklets: " +
                    string.Join(", ", loop.LiveTasklets.Select(t => $"{t.Describe()} {t.State} {t.WaitingOn}")));
            }
            AssertClean(loop);
        }
        finally
        {
            loop.Dispose();
        }
        string reported = string.Join("\n", unexpected.Select(e => e.ToString() + "\n" + e.Exception));
        if (main.State != TaskletState.Completed)
        {
            // The test's own failure first; what was reported besides is often its consequence.
            if (unexpected.Count > 0) Console.WriteLine($"also reported as unhandled while the test failed:\n{reported}");
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(main.Exception ?? new Exception($"test tasklet ended {main.State}"));
        }
        Assert.Equal(0, loop.HandleCount);
        Assert.True(unexpected.Count == 0, "reported as unhandled:\n" + reported);
    }

    public static void Run(Func<Task> body, List<LoopExceptionEventArgs>? reports = null) => Run(_ => body(), reports);

    /// <summary>No tasklet alive and no handle but the loop's own.</summary>
    public static void AssertClean(EventLoop loop)
    {
        Assert.Equal(0, loop.LiveTaskletCount);
        Assert.Empty(loop.GetUserHandles());
    }

    public static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);
}
