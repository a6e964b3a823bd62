using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>Future and Future&lt;T&gt;: Evergreen's (Python's concurrent.futures) Future, on the core park.</summary>
public class FutureTests
{
    [Fact]
    public void SetResult_WakesAWaiter_WhoseAwaitReturnsTheValue()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            Assert.False(future.IsDone);
            var waiter = Tasklet.Spawn(async () => await future);
            var setter = Tasklet.Spawn(async () => { await Tasklet.Yield(); future.SetResult(42); });
            Assert.Equal(42, await waiter);
            await setter;
            Assert.True(future.IsDone);
            Assert.False(future.IsCanceled);
            Assert.False(future.IsRunning);
            Assert.Null(future.Exception);
            Assert.Equal(42, future.Result);
            Assert.Equal(42, await future.ResultAsync());
        });
    }

    [Fact]
    public void SetResult_WakesEveryWaiter_InTheOrderTheyCame_AndIsNotAYieldPoint()
    {
        Run(async () =>
        {
            var future = new Future<string>();
            var woke = new List<int>();
            var waiters = Enumerable.Range(1, 4).Select(i => Tasklet.Spawn(async () =>
            {
                Assert.Equal("go", await future.ResultAsync());
                woke.Add(i);
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(4, future.WaiterCount);
            Assert.All(waiters, w => Assert.StartsWith("Future<String> #", w.WaitingOn));
            future.SetResult("go");
            Assert.Empty(woke); // they run after our next yield
            Assert.Equal(0, future.WaiterCount);
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3, 4], woke);
        });
    }

    [Fact]
    public void ResultAsync_OnADoneFuture_ReturnsAtOnce_WithoutYieldingOrAllocating()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            future.SetResult(7);
            var other = Tasklet.Spawn(() => Task.CompletedTask);
            var wait = future.ResultAsync();
            Assert.True(wait.IsCompletedSuccessfully);
            Assert.Equal(7, await wait);
            Assert.Equal(7, await future);
            await future.ResultAsync(TimeSpan.Zero);
            Assert.Equal(TaskletState.Running, other.State); // it did not get to run: no yield happened
            long before = GC.GetAllocatedBytesForCurrentThread();
            int sum = 0;
            for (int i = 0; i < 1000; i++)
            {
                sum += await future;
                await ((Future)future).ResultAsync();
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(7000, sum);
            Assert.True(allocated < 100, $"{allocated} bytes for 2,000 awaits of a done future");
            await other;
        });
    }

    [Fact]
    public void ResultAsync_ThatParks_AllocatesNothingPerWait_BeyondTheFuturesWaitQueue()
    {
        Run(async () =>
        {
            const int rounds = 200;
            var futures = Enumerable.Range(0, 2 * rounds).Select(_ => new Future<int>()).ToArray();
            Action<int>[] setters = futures.Select(f => (Action<int>)f.SetResult).ToArray();
            int next = 0;
            long sum = 0;
            var producer = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < futures.Length; i++)
                {
                    await Tasklet.Yield();
                    setters[i](i);
                }
            });
            async Task Rounds()
            {
                for (int i = 0; i < rounds; i++)
                {
                    sum += await futures[next] - next; // 0 when each wait got its own future's value
                    next++;
                }
            }
            await Rounds(); // warm up (the waiter nodes' pool, the JIT)
            long before = GC.GetAllocatedBytesForCurrentThread();
            await Rounds();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await producer;
            Assert.Equal(0, sum);
            // Each future allocates its WaitQueue (48 B) on its first wait; nothing else is per wait.
            Assert.True(allocated < rounds * 64, $"{allocated} bytes for {rounds} parked waits");
        });
    }

    [Fact]
    public void SetException_IsRethrown_ByResultAsync_Await_AndResult()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            var waiter = Tasklet.Spawn(async () => await future);
            await Tasklet.Yield();
            future.SetException(new FormatException("bad number"));
            var e = await Assert.ThrowsAsync<FormatException>(async () => await waiter);
            Assert.Equal("bad number", e.Message);
            await Assert.ThrowsAsync<FormatException>(async () => await future);
            await Assert.ThrowsAsync<FormatException>(async () => await future.ResultAsync());
            await Assert.ThrowsAsync<FormatException>(async () => await ((Future)future).ResultAsync());
            await Assert.ThrowsAsync<FormatException>(async () => await (Future)future);
            Assert.Throws<FormatException>(() => future.Result);
            Assert.IsType<FormatException>(future.Exception);
            Assert.True(future.IsDone);
        });
    }

    [Fact]
    public void ResultAsync_Timeout_ThrowsTimeoutException_NamingTheFuture_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () => await future.ResultAsync(Ms(20)));
            Assert.Contains($"Future<Int32> #{future.Id}", e.Message);
            Assert.Contains("20 ms", e.Message);
            Assert.Equal(0, future.WaiterCount);
            future.SetResult(1);
            Assert.Equal(1, await future.ResultAsync(Ms(20)));
            Assert.Throws<ArgumentOutOfRangeException>(() => future.ResultAsync(TimeSpan.FromSeconds(-1)));
        });
    }

    [Fact]
    public void Cancel_APendingFuture_ReturnsTrue_AndItsWaitersGetCanceledException()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            var waiter = Tasklet.Spawn(async () => await future);
            await Tasklet.Yield();
            Assert.True(future.Cancel());
            Assert.True(future.Cancel()); // already cancelled: still true
            Assert.True(future.IsCanceled);
            Assert.True(future.IsDone);
            var e = await Assert.ThrowsAsync<FutureCanceledException>(async () => await waiter);
            Assert.Same(future, e.Future);
            Assert.Contains("was cancelled", e.Message);
            Assert.IsType<FutureCanceledException>(future.Exception);
            Assert.Throws<FutureCanceledException>(() => future.Result);
            await Assert.ThrowsAsync<FutureCanceledException>(async () => await future.ResultAsync());
            Assert.IsAssignableFrom<OperationCanceledException>(future.Exception);
            Assert.False(future.TrySetRunning()); // an executor must not run it
        });
    }

    [Fact]
    public void Cancel_ARunningOrFinishedFuture_ReturnsFalse_AndChangesNothing()
    {
        Run(async () =>
        {
            var running = new Future<int>();
            Assert.True(running.TrySetRunning());
            Assert.True(running.IsRunning);
            Assert.False(running.IsDone);
            Assert.False(running.Cancel());
            Assert.False(running.IsCanceled);
            running.SetResult(3);
            Assert.False(running.IsRunning);
            Assert.Equal(3, await running);

            var finished = new Future<int>();
            finished.SetException(new IOException("disk"));
            Assert.False(finished.Cancel());
            Assert.IsType<IOException>(finished.Exception);
        });
    }

    [Fact]
    public void TrySetRunning_OnlyFromPending_AndOnce()
    {
        Run(() =>
        {
            var future = new Future<int>();
            Assert.True(future.TrySetRunning());
            var e = Assert.Throws<InvalidOperationException>(() => future.TrySetRunning());
            Assert.Contains("already running", e.Message);
            future.SetResult(1);
            e = Assert.Throws<InvalidOperationException>(() => future.TrySetRunning());
            Assert.Contains("already finished", e.Message);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void SettingTwice_IsAnError_ThatSaysSo_AndTheTryFormsReturnFalse()
    {
        Run(() =>
        {
            var future = new Future<int>();
            future.SetResult(1);
            var e = Assert.Throws<InvalidOperationException>(() => future.SetResult(2));
            Assert.Contains("already finished", e.Message);
            Assert.Contains("SetResult", e.Message);
            Assert.Throws<InvalidOperationException>(() => future.SetException(new Exception()));
            Assert.False(future.TrySetResult(2));
            Assert.False(future.TrySetException(new Exception()));
            Assert.Equal(1, future.Result);

            var cancelled = new Future<int>();
            cancelled.Cancel();
            e = Assert.Throws<InvalidOperationException>(() => cancelled.SetResult(1));
            Assert.Contains("was cancelled", e.Message);
            Assert.False(cancelled.TrySetResult(1));
            Assert.False(cancelled.TrySetException(new Exception()));
            Assert.Throws<ArgumentNullException>(() => cancelled.SetException(null!));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void ResultAndException_WhileNotDone_AreInvalid()
    {
        Run(() =>
        {
            var future = new Future<int>();
            var e = Assert.Throws<InvalidOperationException>(() => future.Result);
            Assert.Contains("is not done", e.Message);
            Assert.Throws<InvalidOperationException>(() => future.Exception);
            future.TrySetRunning();
            Assert.Throws<InvalidOperationException>(() => future.Result);
            future.SetResult(0);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void DoneCallbacks_RunSoonAfterCompletion_NotInsideIt_InTheOrderAdded()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            var calls = new List<string>();
            future.AddDoneCallback(f => calls.Add($"a{f.Result}"));          // typed: f is a Future<int>
            future.AddDoneCallback((Future f) => calls.Add($"b{f.IsDone}"));  // untyped
            future.AddDoneCallback(f => calls.Add($"c{f.Result}"));
            await Tasklet.Yield();
            Assert.Empty(calls);
            future.SetResult(5);
            Assert.Empty(calls); // never inside SetResult
            future.AddDoneCallback(f => calls.Add("d")); // after completion: runs soon, after the others
            await Tasklet.Yield();
            Assert.Equal(["a5", "bTrue", "c5", "d"], calls);
            future.AddDoneCallback(f => calls.Add("e"));
            await Tasklet.Yield();
            Assert.Equal(["a5", "bTrue", "c5", "d", "e"], calls);
        });
    }

    [Fact]
    public void DoneCallbacks_RunOnCancelAndFailureToo()
    {
        Run(async () =>
        {
            var cancelled = new Future<int>();
            var failed = new Future<int>();
            var seen = new List<string>();
            cancelled.AddDoneCallback(f => seen.Add($"cancelled={f.IsCanceled}"));
            failed.AddDoneCallback(f => seen.Add($"failed with {f.Exception!.Message}"));
            cancelled.Cancel();
            failed.SetException(new Exception("boom"));
            await Tasklet.Yield();
            Assert.Equal(["cancelled=True", "failed with boom"], seen);
        });
    }

    [Fact]
    public void ADoneCallbackThatThrows_IsReported_NamingTheFuture_AndTheNextStillRuns()
    {
        var reports = new List<LoopExceptionEventArgs>();
        int id = 0;
        Run(async () =>
        {
            var future = new Future<int>();
            id = future.Id;
            var calls = new List<int>();
            future.AddDoneCallback(_ => calls.Add(1));
            future.AddDoneCallback(_ => throw new InvalidOperationException("callback broke"));
            future.AddDoneCallback(_ => calls.Add(3));
            future.SetResult(0);
            await Tasklet.Yield();
            Assert.Equal([1, 3], calls);
        }, reports);
        var report = Assert.Single(reports);
        Assert.Equal("callback broke", report.Exception.Message);
        Assert.Contains($"a done callback of Future<Int32> #{id}", report.Source);
        Assert.Null(report.Tasklet);
    }

    [Fact]
    public void KillingATaskletWaitingOnResultAsync_EndsTheWait_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            bool after = false;
            var waiter = Tasklet.Spawn(async () =>
            {
                await future.ResultAsync();
                after = true;
            });
            await Tasklet.Yield();
            Assert.Equal(1, future.WaiterCount);
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.False(after);
            Assert.Equal(0, future.WaiterCount);
            future.SetResult(1); // nobody left to wake
            Assert.Equal(1, await future);
        });
    }

    [Fact]
    public void AnExpiredScope_EndsTheWait_WithATimeout_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20))) await future;
            });
            Assert.Equal(0, future.WaiterCount);
            Assert.False(future.IsDone);
            future.Cancel();
        });
    }

    [Fact]
    public void ResultAsync_OnAPendingFuture_OutsideATasklet_IsRefused()
    {
        Run(async () =>
        {
            var future = new Future<int>();
            Exception? seen = null;
            EventLoop.Current.CallSoon(() =>
            {
                try { _ = future.ResultAsync(); }
                catch (Exception e) { seen = e; }
            });
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.Contains("Future.ResultAsync", seen!.Message);
            Assert.Contains("outside any tasklet", seen.Message);
            future.SetResult(1);
        });
    }

    [Fact]
    public void AFuture_IsLoopThreadOnly_AndNeedsALoop()
    {
        Run(() =>
        {
            var future = new Future<int>();
            var seen = OtherThread.CallEach(
                () => future.SetResult(1),
                () => future.Cancel(),
                () => _ = future.IsDone,
                () => future.AddDoneCallback(_ => { }),
                () => _ = future.ResultAsync(),
                () => new Future<int>());
            Assert.All(seen, e => Assert.IsType<InvalidOperationException>(e));
            Assert.Contains("loop's own thread", seen[0]!.Message);
            Assert.Contains("no EventLoop on this thread", seen[5]!.Message);
            Assert.False(future.IsDone);
            future.Cancel();
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void AStandaloneFutureThatFailsUnread_IsTheProducersBusiness_NotReported()
    {
        // TestLoop fails the test on any unexpected report.
        Run(() =>
        {
            var future = new Future<int>();
            future.SetException(new Exception("nobody reads this"));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void ATaskletAwaitingAFutureNobodySets_IsADeadlock_NamingTheFuture()
    {
        Future<int>? future = null;
        var e = Assert.Throws<DeadlockException>(() => EventLoop.Run(async () =>
        {
            future = new Future<int>();
            await future;
        }));
        var stuck = Assert.Single(e.Tasklets);
        Assert.Contains($"waiting on Future<Int32> #{future!.Id} (pending)", e.Message);
        Assert.Equal("main", stuck.Name);
    }

    [Fact]
    public void ToString_NamesTheFutureAndItsState()
    {
        Run(() =>
        {
            var future = new Future<int>();
            Assert.Equal($"Future<Int32> #{future.Id} (pending)", future.ToString());
            future.TrySetRunning();
            Assert.EndsWith("(running)", future.ToString());
            future.SetException(new FormatException());
            Assert.EndsWith("(failed with FormatException)", future.ToString());
            return Task.CompletedTask;
        });
    }
}
