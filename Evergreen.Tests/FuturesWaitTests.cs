using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>Futures.WaitAsync and Futures.AsCompleted: Python's concurrent.futures wait() and as_completed().</summary>
public class FuturesWaitTests
{
    /// <summary>Sets each future after its delay, from its own tasklet; returns the setters.</summary>
    private static List<Tasklet> SetLater(params (Future<int> Future, double Ms, int Value)[] plan) =>
        plan.Select(p => Tasklet.Spawn(async () =>
        {
            await Tasklet.Sleep(Ms(p.Ms));
            p.Future.SetResult(p.Value);
        })).ToList();

    private static Future<int>[] Make(int n) => Enumerable.Range(0, n).Select(_ => new Future<int>()).ToArray();

    private static void AssertUnhooked(IEnumerable<Future> futures) => Assert.All(futures, f => Assert.Equal(0, f.HookCount));

    [Fact]
    public void AllCompleted_ReturnsWhenEveryFutureIsDone_InInputOrder()
    {
        Run(async () =>
        {
            var fs = Make(3);
            var setters = SetLater((fs[2], 5, 2), (fs[0], 10, 0), (fs[1], 15, 1));
            var (done, notDone) = await Futures.WaitAsync(fs);
            Assert.Equal(fs, done);
            Assert.Empty(notDone);
            foreach (var s in setters) await s;
            AssertUnhooked(fs);
        });
    }

    [Fact]
    public void FirstCompleted_ReturnsWhenAnyIsDone()
    {
        Run(async () =>
        {
            var fs = Make(3);
            var setter = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                fs[1].SetResult(1);
            });
            var (done, notDone) = await Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstCompleted);
            Assert.Equal([fs[1]], done);
            Assert.Equal([fs[0], fs[2]], notDone);
            AssertUnhooked(fs);
            await setter;
            foreach (var f in fs) f.TrySetResult(0);
        });
    }

    [Fact]
    public void FirstCompleted_CountsACancellationAsDone()
    {
        Run(async () =>
        {
            var fs = Make(2);
            var canceller = Tasklet.Spawn(async () => { await Tasklet.Yield(); fs[0].Cancel(); });
            var (done, notDone) = await Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstCompleted);
            Assert.Equal([fs[0]], done);
            Assert.Equal([fs[1]], notDone);
            await canceller;
            fs[1].Cancel();
        });
    }

    [Fact]
    public void FirstException_ReturnsWhenOneFails_NotWhenOneSucceedsOrIsCanceled()
    {
        Run(async () =>
        {
            var fs = Make(4);
            var steps = new List<string>();
            var driver = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                fs[0].SetResult(0);
                fs[1].Cancel();
                steps.Add("succeeded and cancelled");
                await Tasklet.Sleep(Ms(10));
                steps.Add("failing");
                fs[2].SetException(new FormatException("bad"));
            });
            var (done, notDone) = await Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstException);
            Assert.Equal(["succeeded and cancelled", "failing"], steps);
            Assert.Equal([fs[0], fs[1], fs[2]], done);
            Assert.Equal([fs[3]], notDone);
            Assert.IsType<FormatException>(done[2].Exception);
            await driver;
            fs[3].Cancel();
        });
    }

    [Fact]
    public void FirstException_WithNoFailure_ReturnsWhenAllAreDone()
    {
        Run(async () =>
        {
            var fs = Make(3);
            var setters = SetLater((fs[0], 1, 0), (fs[1], 5, 1), (fs[2], 10, 2));
            var (done, notDone) = await Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstException);
            Assert.Equal(fs, done);
            Assert.Empty(notDone);
            foreach (var s in setters) await s;
        });
    }

    [Fact]
    public void FirstException_AlreadyFailed_ReturnsAtOnce()
    {
        Run(async () =>
        {
            var fs = Make(2);
            fs[1].SetException(new Exception("early"));
            var wait = Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstException);
            Assert.True(wait.IsCompletedSuccessfully);
            var (done, notDone) = await wait;
            Assert.Equal([fs[1]], done);
            Assert.Equal([fs[0]], notDone);
            fs[0].Cancel();
        });
    }

    [Fact]
    public void Timeout_ReturnsWhatIsDone_WithoutThrowing_AndUnhooksFromTheRest()
    {
        Run(async () =>
        {
            var fs = Make(3);
            fs[0].SetResult(0);
            var (done, notDone) = await Futures.WaitAsync(fs, Ms(30));
            Assert.Equal([fs[0]], done);
            Assert.Equal([fs[1], fs[2]], notDone);
            AssertUnhooked(fs);
            (done, notDone) = await Futures.WaitAsync(fs, TimeSpan.Zero, ReturnWhen.AllCompleted); // zero: no wait at all
            Assert.Equal([fs[0]], done);
            fs[1].SetResult(1);
            fs[2].SetResult(2);
        });
    }

    [Fact]
    public void AConditionThatHolds_ReturnsAtOnce_WithoutATasklet()
    {
        Run(async () =>
        {
            var fs = Make(2);
            fs[0].SetResult(0);
            ValueTask<(IReadOnlyList<Future<int>> Done, IReadOnlyList<Future<int>> NotDone)>? fromCallback = null;
            EventLoop.Current.CallSoon(() => fromCallback = Futures.WaitAsync(fs, returnWhen: ReturnWhen.FirstCompleted));
            await Tasklet.Yield();
            Assert.True(fromCallback!.Value.IsCompletedSuccessfully);
            Assert.Equal([fs[0]], fromCallback.Value.Result.Done);
            var empty = await Futures.WaitAsync(Array.Empty<Future>());
            Assert.Empty(empty.Done);
            Assert.Empty(empty.NotDone);
            fs[1].Cancel();
        });
    }

    [Fact]
    public void Duplicates_AreWaitedOnOnce_AndListedOnce()
    {
        Run(async () =>
        {
            var fs = Make(2);
            var setters = SetLater((fs[1], 1, 1), (fs[0], 5, 0));
            var (done, notDone) = await Futures.WaitAsync([fs[1], fs[0], fs[1], fs[0]]);
            Assert.Equal([fs[1], fs[0]], done);
            Assert.Empty(notDone);
            foreach (var s in setters) await s;
        });
    }

    [Fact]
    public void FuturesOfDifferentTypes_AreWaitedOnTogether()
    {
        Run(async () =>
        {
            var number = new Future<int>();
            var text = new Future<string>();
            var setter = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                text.SetResult("x");
                await Tasklet.Yield();
                number.SetResult(1);
            });
            var (done, _) = await Futures.WaitAsync(new Future[] { number, text });
            Assert.Equal(2, done.Count);
            await setter;
        });
    }

    [Fact]
    public void KillingTheWaiter_EndsTheWait_AndUnhooksFromEveryFuture()
    {
        Run(async () =>
        {
            var fs = Make(50);
            var waiter = Tasklet.Spawn(async () => await Futures.WaitAsync(fs));
            await Tasklet.Yield();
            Assert.All(fs, f => Assert.Equal(1, f.HookCount));
            Assert.Contains("Futures.WaitAsync(AllCompleted) on 50 futures, 50 not done", waiter.WaitingOn);
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            AssertUnhooked(fs);
            foreach (var f in fs) f.SetResult(0); // no hook left to run
        });
    }

    [Fact]
    public void AnExpiredScope_EndsTheWait_WithATimeout()
    {
        Run(async () =>
        {
            var fs = Make(2);
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20))) await Futures.WaitAsync(fs);
            });
            AssertUnhooked(fs);
            foreach (var f in fs) f.Cancel();
        });
    }

    [Fact]
    public void AWaitOnManyFutures_CompletedOneByOne_HooksAndUnhooksEachOnce()
    {
        Run(async () =>
        {
            var fs = Make(2000);
            var setter = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                for (int i = fs.Length - 1; i > 0; i--) fs[i].SetResult(i);
            });
            var (done, notDone) = await Futures.WaitAsync(fs, Ms(50));
            Assert.Equal(fs.Length - 1, done.Count);
            Assert.Equal([fs[0]], notDone);
            AssertUnhooked(fs);
            await setter;
            fs[0].SetResult(0);
        });
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        Run(() =>
        {
            var f = new Future<int>();
            Assert.Throws<ArgumentNullException>(() => Futures.WaitAsync((IEnumerable<Future>)null!));
            var e = Assert.Throws<ArgumentException>(() => Futures.WaitAsync(new Future[] { f, null! }));
            Assert.Contains("null", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Futures.WaitAsync([f], returnWhen: (ReturnWhen)7));
            Assert.Throws<ArgumentOutOfRangeException>(() => Futures.WaitAsync([f], TimeSpan.FromSeconds(-1)));
            Assert.Throws<ArgumentNullException>(() => Futures.AsCompleted((IEnumerable<Future>)null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => Futures.AsCompleted([f], TimeSpan.FromSeconds(-1)));
            OtherThread.Call(() => Futures.WaitAsync([f]));
            f.Cancel();
            return Task.CompletedTask;
        });
    }

    // --- over executor futures, as Evergreen's test_futures does ----------------------------------------

    [Fact]
    public void OnExecutorFutures_FirstCompleted_ReturnsTheFastOne_AmongAHundredSlow()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(10);
            var gate = new Future<int>(); // the slow calls wait on it: no 100 s sleeps to clean up
            var fast = pool.Submit(async () => { await Tasklet.Sleep(Ms(10)); return 42; });
            var all = new List<Future<int>> { fast };
            for (int i = 0; i < 100; i++) all.Add(pool.Submit(async () => await gate));
            var (done, notDone) = await Futures.WaitAsync(all, returnWhen: ReturnWhen.FirstCompleted);
            Assert.Equal([fast], done);
            Assert.Equal(100, notDone.Count);
            Assert.Equal(42, await fast);
            gate.SetResult(0);
        });
    }

    [Fact]
    public void OnExecutorFutures_FirstException_ReturnsTheFailure_AndItIsNotReportedAtShutdown()
    {
        // A failed future handed back in Done is the caller's to read: no report (TestLoop would fail).
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(10);
            var gate = new Future<int>();
            var raiser = pool.Submit(() => 1 / Zero());
            var waiting = new[] { pool.Submit(async () => await gate), pool.Submit(async () => await gate) };
            var (done, notDone) = await Futures.WaitAsync([raiser, .. waiting], returnWhen: ReturnWhen.FirstException);
            Assert.Equal([raiser], done);
            Assert.Equal(waiting, notDone);
            gate.SetResult(42);
            Assert.Equal(42, await waiting[0]);
        });
    }

    private static int Zero() => 0;

    [Fact]
    public void OnExecutorFutures_AsCompleted_YieldsEachOnce()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(10);
            var all = Enumerable.Range(0, 10).Select(i => pool.Submit(async () => { await Tasklet.Sleep(Ms(10 - i)); return i; })).ToList();
            var seen = new List<int>();
            await foreach (var f in Futures.AsCompleted(all)) seen.Add(await f);
            Assert.Equal(Enumerable.Range(0, 10), seen.Order());
        });
    }

    // --- AsCompleted -----------------------------------------------------------------------------

    [Fact]
    public void AsCompleted_YieldsTheDoneOnesFirst_InInputOrder_ThenInCompletionOrder()
    {
        Run(async () =>
        {
            var fs = Make(5);
            fs[3].SetResult(3);
            fs[1].SetResult(1);
            var setters = SetLater((fs[4], 20, 4), (fs[0], 5, 0), (fs[2], 10, 2));
            var order = new List<int>();
            await foreach (var f in Futures.AsCompleted(fs)) order.Add(await f);
            Assert.Equal([1, 3, 0, 2, 4], order);
            foreach (var s in setters) await s;
            AssertUnhooked(fs);
        });
    }

    [Fact]
    public void AsCompleted_YieldsFailedAndCanceledFutures_AndAwaitingThemRethrows()
    {
        Run(async () =>
        {
            var fs = Make(3);
            var driver = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                fs[2].SetException(new FormatException("bad"));
                await Tasklet.Yield();
                fs[0].Cancel();
                await Tasklet.Yield();
                fs[1].SetResult(1);
            });
            var seen = new List<string>();
            await foreach (var f in Futures.AsCompleted(fs))
            {
                try
                {
                    seen.Add($"value {await f}");
                }
                catch (Exception e)
                {
                    seen.Add(e.GetType().Name);
                }
            }
            Assert.Equal(["FormatException", "FutureCanceledException", "value 1"], seen);
            await driver;
        });
    }

    [Fact]
    public void AsCompleted_Timeout_ThrowsAfterYieldingWhatWasDone_AndUnhooks()
    {
        Run(async () =>
        {
            var fs = Make(3);
            fs[1].SetResult(1);
            var seen = new List<Future<int>>();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                await foreach (var f in Futures.AsCompleted(fs, Ms(30))) seen.Add(f);
            });
            Assert.Equal([fs[1]], seen);
            Assert.Contains("2 of 3 futures were not done within 30 ms", e.Message);
            AssertUnhooked(fs);
            fs[0].Cancel();
            fs[2].Cancel();
        });
    }

    [Fact]
    public void AsCompleted_TheTimerStartsAtTheFirstStep_NotAtTheCall()
    {
        Run(async () =>
        {
            var fs = Make(1);
            var results = Futures.AsCompleted(fs, TimeSpan.FromMilliseconds(300));
            await Tasklet.Sleep(Ms(400)); // longer than the timeout, before enumerating
            var setter = SetLater((fs[0], 20, 7));
            var order = new List<int>();
            await foreach (var f in results) order.Add(await f);
            Assert.Equal([7], order);
            foreach (var s in setter) await s;
        });
    }

    [Fact]
    public void AsCompleted_StoppedEarly_UnhooksFromTheRest()
    {
        Run(async () =>
        {
            var fs = Make(3);
            var setters = SetLater((fs[2], 1, 2));
            await foreach (var f in Futures.AsCompleted(fs))
            {
                Assert.Same(fs[2], f);
                break;
            }
            AssertUnhooked(fs);
            foreach (var s in setters) await s;
            fs[0].Cancel();
            fs[1].Cancel();
        });
    }

    [Fact]
    public void AsCompleted_KillingTheConsumer_LeavesNothingBehind()
    {
        Run(async () =>
        {
            var fs = Make(2);
            var consumer = Tasklet.Spawn(async () =>
            {
                await foreach (var _ in Futures.AsCompleted(fs)) { }
            });
            await Tasklet.Yield();
            Assert.All(fs, f => Assert.Equal(1, f.HookCount));
            consumer.Kill();
            await consumer.JoinAsync();
            AssertUnhooked(fs);
            foreach (var f in fs) f.Cancel();
        });
    }

    [Fact]
    public void AsCompleted_Duplicates_AreYieldedOnce_AndEmptyEndsAtOnce()
    {
        Run(async () =>
        {
            var f = new Future<int>();
            f.SetResult(1);
            int n = 0;
            await foreach (var _ in Futures.AsCompleted([f, f, f])) n++;
            Assert.Equal(1, n);
            await foreach (var _ in Futures.AsCompleted(Array.Empty<Future>())) n++;
            Assert.Equal(1, n);
        });
    }
}
