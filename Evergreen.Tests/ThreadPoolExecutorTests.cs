using static Evergreen.Tests.TaskletPoolExecutorTests;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>ThreadPoolExecutor: calls on .NET thread-pool threads, results back through CallFromThread.</summary>
public class ThreadPoolExecutorTests
{
    [Fact]
    public void Submit_RunsTheCallOnAPoolThread_AndTheAwaitResumesOnTheLoop()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            int loopThread = Environment.CurrentManagedThreadId;
            var me = Tasklet.Current;
            int callThread = await threads.Submit(() => Environment.CurrentManagedThreadId);
            Assert.NotEqual(loopThread, callThread);
            Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
            Assert.Same(me, Tasklet.Current);
            bool ran = false;
            await threads.Submit(() => { ran = true; });
            Assert.True(ran);
        });
    }

    [Fact]
    public void AsyncCalls_StartOnAPoolThread_AndTheirTasksCompletionComesBack()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            int loopThread = Environment.CurrentManagedThreadId;
            Assert.Equal(5, await threads.Submit(async () =>
            {
                Assert.NotEqual(loopThread, Environment.CurrentManagedThreadId);
                await Task.Delay(10);
                return 5;
            }));
            await threads.Submit(async () => await Task.Delay(1));
            var e = await Assert.ThrowsAsync<IOException>(async () =>
                await threads.Submit<int>(async () => { await Task.Delay(1); throw new IOException("async failure"); }));
            Assert.Equal("async failure", e.Message);
        });
    }

    [Fact]
    public void ValueTaskCalls_AndALambdaThatOnlyThrows_BindToTheAsyncForms()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            async ValueTask<int> OnAThread(int i)
            {
                await Task.Delay(1);
                return i + 1;
            }
            Assert.Equal(6, await threads.Submit(() => OnAThread(5)));
            await threads.Submit(() => new ValueTask(Task.Delay(1)));
            Assert.Equal([2, 3, 4], await threads.MapAsync(OnAThread, [1, 2, 3]).ToListAsync());
            var e = await Assert.ThrowsAsync<FormatException>(async () => await threads.Submit<int>(() => throw new FormatException("thrown")));
            Assert.Equal("thrown", e.Message);
            Assert.Throws<ArgumentException>(() => threads.Submit<ValueTask<int>>(() => OnAThread(1)));
        });
    }

    /// <summary>A ValueTask call counts as running until its ValueTask completes: the bound holds for it as for a Task call.</summary>
    [Fact]
    public void ValueTaskCalls_CountAsRunningUntilTheyComplete()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            int running = 0, most = 0;
            async ValueTask<int> Tracked(int i)
            {
                int now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                await Task.Delay(5);
                Interlocked.Decrement(ref running);
                return i;
            }
            Assert.Equal([0, 1, 2, 3, 4, 5], await threads.MapAsync(Tracked, Enumerable.Range(0, 6)).ToListAsync());
            Assert.InRange(Volatile.Read(ref most), 1, 2);
        });
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    [Fact]
    public void NeverMoreThanMaxWorkersCallsRunAtOnce()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(3);
            int running = 0, most = 0;
            var futures = Enumerable.Range(0, 24).Select(i => threads.Submit(() =>
            {
                int now = Interlocked.Increment(ref running);
                int seen;
                while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
                Thread.Sleep(5);
                Interlocked.Decrement(ref running);
                return i;
            })).ToList();
            for (int i = 0; i < futures.Count; i++) Assert.Equal(i, await futures[i]);
            Assert.InRange(most, 1, 3);
        });
    }

    [Fact]
    public void WhileCallsSleepOnThreads_TheLoopKeepsServingATicker()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            var ticker = Ticker.Start(Ms(5));
            await threads.Submit(() => Thread.Sleep(200));
            await ticker.StopAsync();
            Assert.True(ticker.Elapsed >= Ms(199));
            Assert.True(ticker.Ticks >= 5, $"the ticker ticked {ticker.Ticks} times during the 200 ms call");
            // Not a speed threshold: a loop blocked by the call shows one gap of at least 200 ms.
            Assert.True(ticker.LongestGap < Ms(190), $"the loop stalled for {ticker.LongestGap.TotalMilliseconds} ms");
        });
    }

    [Fact]
    public void AThousandCalls_UnderATicker_AllReturnTheirOwnResults()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(4);
            var ticker = Ticker.Start(Ms(1));
            var results = new List<long>();
            await foreach (var r in threads.MapAsync(i => (long)i * i, Enumerable.Range(0, 1000))) results.Add(r);
            await ticker.StopAsync();
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i * i), results);
            Assert.True(ticker.Ticks > 0);
        });
    }

    [Fact]
    public void Exceptions_ReachEveryPath_IncludingMapAsyncAtItsPosition()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(2);
            var failed = threads.Submit(() => Throw(new FormatException("on a thread")));
            Assert.Equal("on a thread", (await Assert.ThrowsAsync<FormatException>(async () => await failed)).Message);
            await Assert.ThrowsAsync<FormatException>(async () => await failed.ResultAsync());
            Assert.Throws<FormatException>(() => failed.Result);
            Assert.IsType<FormatException>(failed.Exception);
            var seen = new List<int>();
            await Assert.ThrowsAsync<DivideByZeroException>(async () =>
            {
                await foreach (var r in threads.MapAsync(x => 6 / x, [3, 2, 0, 1])) seen.Add(r);
            });
            Assert.Equal([2, 3], seen);
        });
    }

    [Fact]
    public void Cancel_AQueuedCall_ReturnsTrue_AndItNeverRuns_ButARunningOneCannotBe_AndItsResultArrives()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(1);
            using var release = new ManualResetEventSlim();
            int secondRan = 0;
            var first = threads.Submit(() => { release.Wait(TimeSpan.FromSeconds(10)); return 1; });
            var second = threads.Submit(() => Interlocked.Exchange(ref secondRan, 1));
            Assert.True(first.IsRunning);   // dispatched at once: a thread was free
            Assert.False(second.IsRunning); // queued behind it
            Assert.False(first.Cancel());
            Assert.True(second.Cancel());
            release.Set();
            Assert.Equal(1, await first);
            await Assert.ThrowsAsync<FutureCanceledException>(async () => await second);
            await threads.ShutdownAsync();
            Assert.Equal(0, Volatile.Read(ref secondRan));
        });
    }

    [Fact]
    public void KillingATaskletWaitingOnACall_EndsItsWait_AndTheResultStillArrives()
    {
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(1);
            using var release = new ManualResetEventSlim();
            var future = threads.Submit(() => { release.Wait(TimeSpan.FromSeconds(10)); return 7; });
            var waiter = Tasklet.Spawn(async () => await future);
            await Tasklet.Yield();
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.False(future.IsDone);
            release.Set();
            Assert.Equal(7, await future);
        });
    }

    [Fact]
    public void ShutdownWithWait_WaitsForTheCallsOnThreads()
    {
        Run(async () =>
        {
            var threads = new ThreadPoolExecutor(2);
            var futures = Enumerable.Range(0, 4).Select(i => threads.Submit(() => { Thread.Sleep(10); return i; })).ToList();
            await threads.ShutdownAsync();
            Assert.All(futures, f => Assert.True(f.IsDone));
            Assert.Equal(0, EventLoop.Current.KeepAliveCount); // no hold left
            Assert.Throws<InvalidOperationException>(() => threads.Submit(() => 1));
        });
    }

    [Fact]
    public void ShutdownWithoutWait_ReturnsAtOnce_AndTheLoopStaysUpForTheCallsStillOut()
    {
        var results = new List<int>();
        Run(async () =>
        {
            var threads = new ThreadPoolExecutor(1);
            for (int i = 0; i < 3; i++)
            {
                int n = i;
                threads.Submit(() => { Thread.Sleep(5); return n; }).AddDoneCallback(f => results.Add(f.Result));
            }
            Assert.True(threads.ShutdownAsync(wait: false).IsCompletedSuccessfully);
            Assert.True(threads.IsShutdown);
            // The test tasklet ends here; the loop runs until the calls are back.
        });
        Assert.Equal([0, 1, 2], results);
    }

    [Fact]
    public void ShutdownCancellingPending_CancelsTheQueuedCalls()
    {
        Run(async () =>
        {
            var threads = new ThreadPoolExecutor(1);
            using var release = new ManualResetEventSlim();
            var first = threads.Submit(() => { release.Wait(TimeSpan.FromSeconds(10)); return 0; });
            var queued = Enumerable.Range(1, 3).Select(i => threads.Submit(() => i)).ToList();
            var shutdown = Tasklet.Spawn(async () => await threads.ShutdownAsync(cancelPending: true));
            await Tasklet.Yield();
            Assert.All(queued, f => Assert.True(f.IsCanceled));
            Assert.False(shutdown.IsDone); // still waiting for the running call
            release.Set();
            await shutdown;
            Assert.Equal(0, await first);
        });
    }

    [Fact]
    public void AFailureNobodyObserved_IsReportedAtShutdown()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using var threads = new ThreadPoolExecutor(1);
            _ = threads.Submit(() => Throw(new FormatException("lost on a thread")));
            var seen = threads.Submit(() => Throw(new FormatException("seen")));
            await Assert.ThrowsAsync<FormatException>(async () => await seen);
        }, reports);
        var report = Assert.Single(reports);
        Assert.Equal("lost on a thread", report.Exception.Message);
        Assert.Contains("ThreadPoolExecutor #", report.Source);
    }

    [Fact]
    public void BadArguments_AndTheWrongThread_AreClearErrors()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new ThreadPoolExecutor(0));
            await using var threads = new ThreadPoolExecutor(1);
            Assert.Throws<ArgumentNullException>(() => threads.Submit((Func<Task<int>>)null!));
            Assert.Throws<ArgumentNullException>(() => threads.Submit((Func<Task>)null!));
            var e = OtherThread.Call(() => threads.Submit(() => 1));
            Assert.Contains("Executor.Submit", e!.Message);
            Assert.Equal($"ThreadPoolExecutor #{threads.Id} (1 thread at most, 0 running, 0 queued)", threads.ToString());
        });
    }
}
