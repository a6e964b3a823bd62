using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class OffloadTests
{
    [Fact]
    public void RunAsync_ReturnsTheValue_FromAThreadPoolThread_AndResumesOnTheLoop()
    {
        Run(async () =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            var me = Tasklet.Current;
            int workerThread = await Offload.RunAsync(() => Environment.CurrentManagedThreadId);
            Assert.NotEqual(loopThread, workerThread);
            Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
            Assert.Same(me, Tasklet.Current);
            bool ran = false;
            await Offload.RunAsync(() => { ran = true; });
            Assert.True(ran);
        });
    }

    [Fact]
    public void WhileWorkRuns_TheLoopKeepsServingOtherTasklets()
    {
        // The test: a ticker's longest gap stays small while another tasklet waits on an
        // offloaded 200 ms Thread.Sleep. (A blocked loop would show one ~200 ms gap.)
        Run(async () =>
        {
            var ticker = Ticker.Start(Ms(5));
            await Offload.RunAsync(() => Thread.Sleep(200));
            await ticker.StopAsync();
            Assert.True(ticker.Elapsed >= Ms(199));
            Assert.True(ticker.Ticks >= 5, $"the ticker ticked {ticker.Ticks} times during the offloaded sleep");
            // Not a speed threshold: a loop blocked by the sleep shows one gap of at least 200 ms.
            Assert.True(ticker.LongestGap < Ms(190), $"the loop stalled for {ticker.LongestGap.TotalMilliseconds} ms");
        });
    }

    [Fact]
    public void AThousandOffloadedCalls_UnderATicker_AllReturnTheirOwnResults()
    {
        Run(async () =>
        {
            var ticker = Ticker.Start(Ms(1));
            var results = new long[1000];
            var workers = Enumerable.Range(0, 10).Select(w => Tasklet.Spawn(async () =>
            {
                for (int i = w; i < 1000; i += 10)
                {
                    int n = i;
                    results[n] = await Offload.RunAsync(() => (long)n * n);
                }
            })).ToList();
            foreach (var t in workers) await t;
            await ticker.StopAsync();
            for (int i = 0; i < 1000; i++) Assert.Equal((long)i * i, results[i]);
            Assert.True(ticker.Ticks > 0);
        });
    }

    [Fact]
    public void ExceptionsFromTheWork_AreRethrownInTheTasklet()
    {
        Run(async () =>
        {
            var e = await Assert.ThrowsAsync<FormatException>(async () => await Offload.RunAsync<int>(() => throw new FormatException("bad number")));
            Assert.Equal("bad number", e.Message);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await Offload.RunAsync(() => throw new InvalidOperationException("no")));
            Assert.Equal(3, await Offload.RunAsync(() => 3)); // nodes are reused after a failure
        });
    }

    [Fact]
    public void AnAsyncFunction_IsRefused_WithTheRule_InsteadOfRunningOnUnawaitedOffTheLoop()
    {
        Run(async () =>
        {
            bool ran = false;
            var e = Assert.Throws<ArgumentException>(() => { _ = Offload.RunAsync(async () => { await Tasklet.Sleep(TimeSpan.FromMilliseconds(1)); ran = true; }); });
            Assert.Contains("Task, a task", e.Message);
            Assert.Contains("Await the async function in the tasklet", e.Message);
            Assert.Equal("work", e.ParamName);
            var f = Assert.Throws<ArgumentException>(() => { _ = Offload.RunAsync(async () => { await Task.Yield(); return 1; }); });
            Assert.Contains("Task<Int32>", f.Message);
            Assert.Throws<ArgumentException>(() => { _ = Offload.RunAsync(() => ValueTask.CompletedTask); });
            Assert.Equal(3, await Offload.RunAsync(() => 3)); // synchronous work still runs
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(5));
            Assert.False(ran);
        });
    }

    [Fact]
    public void KillingTheWaiter_EndsTheWaitAtOnce_AndTheWorkFinishesOnItsOwn()
    {
        Run(async () =>
        {
            using var release = new ManualResetEventSlim();
            bool finished = false;
            var waiter = Tasklet.Spawn(async () => await Offload.RunAsync(() =>
            {
                release.Wait(TimeSpan.FromSeconds(10));
                finished = true;
                return 1;
            }));
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, waiter.State);
            Assert.StartsWith("offloaded work", waiter.WaitingOn);
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.False(finished);   // the wait ended; the work has not
            release.Set();
            // The loop is held open until the work is done: the test ends clean after it.
        });
    }

    [Fact]
    public void AnExpiredScope_EndsTheWait_WithATimeout()
    {
        Run(async () =>
        {
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20))) await Offload.RunAsync(() => Thread.Sleep(300));
            });
            Assert.Equal(7, await Offload.RunAsync(() => 7));
        });
    }

    [Fact]
    public void SteadyState_AllocatesNothingPerCall()
    {
        Run(async () =>
        {
            Func<int> one = static () => 1;
            for (int i = 0; i < 50; i++) await Offload.RunAsync(one); // warm the pool and the JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++) await Offload.RunAsync(one);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1024, $"{allocated} bytes on the loop thread for 200 offloads");
        });
    }

    [Fact]
    public void NotAwaitedAtOnce_TheNextParkIsAClearError_AndNothingElseIsReported()
    {
        Run(async () =>
        {
            var loop = EventLoop.Current;
            var pending = Offload.RunAsync(() => 5);
            var e = Assert.Throws<InvalidOperationException>(() => Tasklet.Sleep(Ms(1)));
            Assert.Contains("one thing at a time", e.Message);
            // The work's completion reaches the loop while the tasklet is not parked but awaits an
            // ordinary task: the result must wait for the await, not be pushed at a park that is not there.
            Assert.True(SpinWait.SpinUntil(() => loop.HasCrossThreadWork, TimeSpan.FromSeconds(10)));
            await Task.Delay(1);
            Assert.Equal(5, await pending);
            Assert.Equal(7, await Offload.RunAsync(() => 7));
        });
    }

    [Fact]
    public void NeverAwaited_TheWorkFinishingAfterTheTaskletEnded_IsNotReportedAsAWrongUnpark()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var release = new ManualResetEventSlim(); // not disposed: the work still waits on it after the test body ends
            var t = Tasklet.Spawn(() =>
            {
                _ = Offload.RunAsync(() => release.Wait(TimeSpan.FromSeconds(10)));
                return Task.CompletedTask;
            }, "forgetful");
            await t.JoinAsync();
            release.Set(); // the work ends after its tasklet did; the loop waits for it
        }, reports);
        Assert.DoesNotContain(reports, r => r.Exception.Message.Contains("is not parked"));
        var report = Assert.Single(reports); // the misuse, said once
        Assert.Contains("forgetful", report.Source);
        Assert.Contains("Offload.RunAsync", report.Exception.Message);
        Assert.Contains("never awaited", report.Exception.Message);
    }

    [Fact]
    public void NotAwaitedAtOnce_ATaskletThatFailsAtItsNextPark_IsReportedOnce()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var release = new ManualResetEventSlim(); // not disposed: the work still waits on it after the test body ends
            var t = Tasklet.Spawn(async () =>
            {
                _ = Offload.RunAsync(() => release.Wait(TimeSpan.FromSeconds(10)));
                await Tasklet.Sleep(Ms(1)); // refused: the tasklet's park is the offload's
            }, "hasty");
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Failed, t.State);
            release.Set(); // the work ends after its tasklet did; the loop waits for it
        }, reports);
        var report = Assert.Single(reports);
        Assert.Contains("hasty", report.Source);
        Assert.Contains("one thing at a time", report.Exception.Message);
    }

    [Fact]
    public void BadArguments_AndNoTasklet_AreClearErrors()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentNullException>(() => Offload.RunAsync((Func<int>)null!));
            Assert.Throws<ArgumentNullException>(() => Offload.RunAsync((Action)null!));
            await Tasklet.Yield();
        });
        using var loop = new EventLoop();
        var e = Assert.Throws<InvalidOperationException>(() => Offload.RunAsync(() => 1));
        Assert.Contains("Offload.RunAsync", e.Message);
    }
}
