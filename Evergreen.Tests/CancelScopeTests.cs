using System.Diagnostics;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class CancelScopeTests
{
    [Fact]
    public void FailAfter_ThrowsTimeoutAtThePark_SayingHowLongItWas()
    {
        Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(30)))
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(10));
                }
            });
            Assert.Contains("timed out after 30 ms", e.Message);
            Assert.InRange(clock.Elapsed, Ms(29), TimeSpan.FromSeconds(5));
            await Tasklet.Sleep(Ms(40)); // the scope is closed: its deadline no longer applies
        });
    }

    [Fact]
    public void FailAfter_NotExpired_ChangesNothing()
    {
        Run(async () =>
        {
            using (var scope = CancelScope.FailAfter(TimeSpan.FromSeconds(5)))
            {
                await Tasklet.Sleep(Ms(5));
                Assert.False(scope.IsExpired);
                Assert.Equal(TimeSpan.FromSeconds(5), scope.Timeout);
            }
        });
    }

    [Fact]
    public void NestedScopes_TheOneWhoseDeadlinePassedFires()
    {
        // Evergreen's test_timeout nesting: an inner longer timeout inside a shorter outer one.
        Run(async () =>
        {
            var e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20)))
                using (CancelScope.FailAfter(TimeSpan.FromSeconds(10)))
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(30));
                }
            });
            Assert.Contains("20 ms", e.Message);

            e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(TimeSpan.FromSeconds(10)))
                using (CancelScope.FailAfter(Ms(20)))
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(30));
                }
            });
            Assert.Contains("20 ms", e.Message);
        });
    }

    [Fact]
    public void MoveOnAfter_TakesValueTaskBodies_WithAndWithoutAValue()
    {
        Run(async () =>
        {
            async ValueTask<int> Slow(TimeSpan wait)
            {
                await Tasklet.Sleep(wait);
                return 5;
            }
            Assert.False(await CancelScope.MoveOnAfterAsync(Ms(10), () => Tasklet.Sleep(TimeSpan.FromSeconds(30))));
            Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), () => Tasklet.Sleep(Ms(1))));
            Assert.Equal((true, 5), await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), () => Slow(Ms(1))));
            Assert.Equal((false, 0), await CancelScope.MoveOnAfterAsync(Ms(10), () => Slow(TimeSpan.FromSeconds(30))));
            await Assert.ThrowsAsync<FormatException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), () => ValueTask.FromException(new FormatException("body"))));
        });
    }

    [Fact]
    public void MoveOnAfter_CatchesOnlyItsOwnTimeout()
    {
        Run(async () =>
        {
            var log = new List<string>();
            // The inner scope fires and catches its own timeout; the outer never sees it.
            bool outer = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), async () =>
            {
                bool inner = await CancelScope.MoveOnAfterAsync(Ms(20), async () =>
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(30));
                    log.Add("inner finished");
                });
                log.Add($"inner returned {inner}");
                await Tasklet.Sleep(Ms(5));
                log.Add("outer went on");
            });
            Assert.True(outer);
            Assert.Equal(["inner returned False", "outer went on"], log);

            // An inner FailAfter's timeout passes through an outer MoveOnAfter untouched.
            await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), async () =>
            {
                using (CancelScope.FailAfter(Ms(10))) await Tasklet.Sleep(TimeSpan.FromSeconds(30));
            }));

            // The outer deadline passes first: the outer scope catches, though the inner is open.
            bool caught = await CancelScope.MoveOnAfterAsync(Ms(20), async () =>
            {
                using (CancelScope.FailAfter(TimeSpan.FromSeconds(10))) await Tasklet.Sleep(TimeSpan.FromSeconds(30));
            });
            Assert.False(caught);
        });
    }

    [Fact]
    public void MoveOnAfter_WithAValue_ReturnsIt()
    {
        Run(async () =>
        {
            var (done, value) = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async () => { await Tasklet.Yield(); return 3; });
            Assert.True(done);
            Assert.Equal(3, value);
            (done, value) = await CancelScope.MoveOnAfterAsync(Ms(5), async () => { await Tasklet.Sleep(TimeSpan.FromSeconds(10)); return 3; });
            Assert.False(done);
            Assert.Equal(0, value);
        });
    }

    [Fact]
    public void ExpiredScope_IsLevelTriggered_EveryParkInsideThrows()
    {
        Run(async () =>
        {
            int timeouts = 0;
            using (CancelScope.FailAfter(Ms(10)))
            {
                for (int i = 0; i < 3; i++)
                {
                    try { await Tasklet.Sleep(TimeSpan.FromSeconds(10)); }
                    catch (TimeoutException) { timeouts++; }
                }
                await Assert.ThrowsAsync<TimeoutException>(async () => await Tasklet.Yield());
            }
            Assert.Equal(3, timeouts);
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void ScopeThatExpiresWhileRunning_FiresAtTheNextPark()
    {
        Run(async () =>
        {
            using var scope = CancelScope.FailAfter(Ms(5));
            Thread.Sleep(20); // hold the loop past the deadline without parking
            await Assert.ThrowsAsync<TimeoutException>(async () => await Tasklet.Yield());
            Assert.True(scope.IsExpired);
        });
    }

    [Fact]
    public void FailAt_UsesTheLoopClock()
    {
        Run(async loop =>
        {
            var e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAt(loop.Time + Ms(10))) await Tasklet.Sleep(TimeSpan.FromSeconds(10));
            });
            Assert.Contains("deadline passed", e.Message);
        });
    }

    [Fact]
    public void CancellationToken_FiresWhenTheScopeExpires_ForForeignAwaits()
    {
        Run(async () =>
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20)))
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), Tasklet.Current!.CancellationToken);
                }
            });
            Assert.False(Tasklet.Current!.CancellationToken.IsCancellationRequested);
        });
    }

    [Fact]
    public void CancellationToken_FiresOnKill()
    {
        Run(async () =>
        {
            var started = new TaskCompletionSource();
            var t = Tasklet.Spawn(async () =>
            {
                var token = Tasklet.Current!.CancellationToken;
                started.SetResult();
                await Task.Delay(TimeSpan.FromSeconds(10), token);
            });
            await started.Task;
            t.Kill();
            await t.JoinAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(TaskletState.Killed, t.State);
            Assert.IsType<TaskletExit>(t.Exception);
        });
    }

    [Fact]
    public void DisposingOutOfOrder_IsRefused()
    {
        Run(async () =>
        {
            var outer = CancelScope.FailAfter(TimeSpan.FromSeconds(5));
            var inner = CancelScope.FailAfter(TimeSpan.FromSeconds(5));
            var e = Assert.Throws<InvalidOperationException>(outer.Dispose);
            Assert.Contains("innermost first", e.Message);
            inner.Dispose();
            outer.Dispose();
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void FailAfter_InfiniteTimeout_IsNoLimit_LikeEveryWaitAsync()
    {
        Run(async () =>
        {
            using (var scope = CancelScope.FailAfter(Timeout.InfiniteTimeSpan))
            {
                Assert.Equal(TimeSpan.MaxValue, scope.Deadline);
                Assert.Equal(Timeout.InfiniteTimeSpan, scope.Timeout);
                await Tasklet.Sleep(Ms(1));
                Assert.False(scope.IsExpired);
            }
            Assert.True(await CancelScope.MoveOnAfterAsync(Timeout.InfiniteTimeSpan, async () => await Tasklet.Sleep(Ms(1))));
            Assert.Throws<ArgumentOutOfRangeException>(() => CancelScope.FailAfter(Ms(-2))); // only -1 ms means "no limit"
        });
    }

    [Fact]
    public void FailAfter_TimeSpanMaxValue_NeverExpires()
    {
        Run(async () =>
        {
            using (var scope = CancelScope.FailAfter(TimeSpan.MaxValue))
            {
                Assert.True(scope.Deadline > TimeSpan.FromSeconds(1e9)); // far in the future, not wrapped round into the past
                await Tasklet.Sleep(Ms(1));
                Assert.False(scope.IsExpired);
            }
        });
    }

    [Fact]
    public void DisposingOutOfOrder_Throws_AndClosesTheScopeAnyway()
    {
        Run(async () =>
        {
            var outer = CancelScope.FailAfter(Ms(1));
            var inner = CancelScope.FailAfter(TimeSpan.FromSeconds(5));
            var e = Assert.Throws<InvalidOperationException>(outer.Dispose);
            Assert.Contains("it is closed anyway", e.Message);
            await Tasklet.Sleep(Ms(5)); // past the outer deadline, which no longer applies
            Assert.False(inner.IsExpired);
            inner.Dispose();
            outer.Dispose(); // already closed: nothing
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void BadArguments_AndNoTasklet_AreClearErrors()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => CancelScope.FailAfter(Ms(-2))); // -1 ms is Timeout.InfiniteTimeSpan
            await Assert.ThrowsAsync<ArgumentNullException>(() => CancelScope.MoveOnAfterAsync(Ms(1), null!));
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CancelScope.MoveOnAfterAsync(Ms(-2), () => Task.CompletedTask));
        });
        using var loop = new EventLoop();
        Assert.Throws<InvalidOperationException>(() => CancelScope.FailAfter(Ms(1)));
    }
}

public class ShieldedParkTests
{
    [Fact]
    public void ShieldedPark_IgnoresAnExpiredScope_ButNotAKill()
    {
        TestLoop.Run(async () =>
        {
            var gate = new WaitQueue("the shielded gate");
            var log = new List<string>();
            var shielded = Tasklet.Spawn(async () =>
            {
                using (CancelScope.FailAfter(TimeSpan.FromMilliseconds(5)))
                {
                    // The deadline passes while parked: the shielded park does not care.
                    Assert.True(await Tasklet.ParkAsync(new Owner(gate), shielded: true));
                    log.Add("woken past the deadline");
                    await Assert.ThrowsAsync<TimeoutException>(async () => await Tasklet.Yield()); // unshielded again
                }
            });
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(30));
            Assert.True(shielded.IsParked);
            shielded.Unpark();
            await shielded;
            Assert.Equal(["woken past the deadline"], log);

            var killed = Tasklet.Spawn(async () => await Tasklet.ParkAsync(new Owner(gate), shielded: true));
            await Tasklet.Yield();
            killed.Kill();
            await killed.JoinAsync();
            Assert.Equal(TaskletState.Killed, killed.State);
        });
    }

    private sealed class Owner(WaitQueue queue) : IParkOwner
    {
        public void AbortPark(Tasklet tasklet) { }
        public override string ToString() => queue.ToString();
    }
}
