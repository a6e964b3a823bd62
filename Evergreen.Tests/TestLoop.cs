namespace Evergreen.Tests;

/// <summary>
/// Runs a test body as a tasklet on a fresh loop, then checks that the loop ends clean: no
/// tasklet alive, no user handle open, nothing reported as unhandled (unless the test expects
/// it), and, after disposal, no native handle left at all (libuv's MAKE_VALGRIND_HAPPY).
/// </summary>
internal static class TestLoop
{
    public static void Run(Func<EventLoop, Task> body, List<LoopExceptionEventArgs>? reports = null)
    {
        var loop = new EventLoop();
        var unexpected = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => (reports ?? unexpected).Add(e);
        Tasklet main;
        try
        {
            main = loop.Spawn(() => body(loop), "test");
            main.MarkObserved();
            loop.Run();
            AssertClean(loop);
        }
        finally
        {
            loop.Dispose();
        }
        Assert.Equal(0, loop.HandleCount);
        Assert.Empty(unexpected.Select(e => e.ToString() + "\n" + e.Exception));
        if (main.State != TaskletState.Completed)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(main.Exception ?? new Exception($"test tasklet ended {main.State}"));
        }
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
