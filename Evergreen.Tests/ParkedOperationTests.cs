using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>
/// The one "operation that parks" (ParkedOperation): completion, timeout, the recall/detach abort
/// protocol, the awaited-twice error, never-awaited completions and foreign wakes.
/// </summary>
public class ParkedOperationTests
{
    /// <summary>A test operation: its recall answer is set by the test; it records what the base told it.</summary>
    private sealed class Probe : ParkedOperation<int>
    {
        public int Value;
        public bool Recallable = true;
        public int Recalls, Idles, NeverAwaited;
        public Exception? NeverAwaitedError;

        public ValueTask<int> Start(TimeSpan? timeout = null, bool shielded = false) => ParkAsync("Probe.WaitAsync", timeout, shielded);

        public ValueTask StartVoid() => ParkVoidAsync("Probe.WaitAsync");

        public void Finish(int value)
        {
            Value = value;
            Complete();
        }

        public void Fail(Exception error) => Complete(error);

        public bool Waiting => IsWaiting;

        public bool Busy => IsBusy;

        protected override int Finish(bool completed) => completed ? Value : -1;

        protected override bool TryRecall()
        {
            Recalls++;
            return Recallable;
        }

        protected override void OnIdle() => Idles++;

        protected override void OnNeverAwaited(Tasklet tasklet, Exception? error)
        {
            NeverAwaited++;
            NeverAwaitedError = error;
        }

        public override string ToString() => "the probe";
    }

    [Fact]
    public void Complete_WakesTheWaiter_WithFinishsResult_AndTheOperationIsIdleAgain()
    {
        Run(async () =>
        {
            var op = new Probe();
            var waiter = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, waiter.State);
            Assert.Equal("the probe", waiter.WaitingOn);
            Assert.True(op.Waiting);
            op.Finish(42);
            Assert.False(op.Waiting);
            Assert.True(op.Busy); // until the waiter has read the result
            Assert.Equal(42, await waiter);
            Assert.False(op.Busy);
            Assert.Equal((0, 1), (op.Recalls, op.Idles));
        });
    }

    [Fact]
    public void TheSameNode_ServesOneWaitAfterAnother()
    {
        Run(async () =>
        {
            var op = new Probe();
            for (int i = 0; i < 3; i++)
            {
                var waiter = Tasklet.Spawn(async () => await op.Start());
                await Tasklet.Yield();
                op.Finish(i);
                Assert.Equal(i, await waiter);
            }
            Assert.Equal(3, op.Idles);
        });
    }

    [Fact]
    public void ParkingOnABusyOperation_IsRefused_NamingTheMember()
    {
        Run(async () =>
        {
            var op = new Probe();
            var first = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            var error = Assert.Throws<InvalidOperationException>(() => op.Start());
            Assert.Contains("Probe.WaitAsync", error.Message);
            Assert.Contains("still in use", error.Message);
            op.Finish(1);
            Assert.Equal(1, await first);
        });
    }

    [Fact]
    public void Complete_WithAnError_IsThrownByTheAwait_AndFinishDoesNotRun()
    {
        Run(async () =>
        {
            var op = new Probe();
            var waiter = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            op.Fail(new IOException("the wire broke"));
            var error = await Assert.ThrowsAsync<IOException>(async () => await waiter);
            Assert.Equal("the wire broke", error.Message);
            Assert.False(op.Busy);
        });
    }

    [Fact]
    public void Timeout_RecallsTheOperation_AndFinishGetsFalse()
    {
        Run(async () =>
        {
            var op = new Probe();
            Assert.Equal(-1, await op.Start(Ms(5)));
            Assert.Equal((1, 1), (op.Recalls, op.Idles));
            Assert.False(op.Busy);
        });
    }

    [Fact]
    public void Kill_RecallsARecallableOperation_AndItIsIdleAtOnce()
    {
        Run(async () =>
        {
            var op = new Probe();
            var waiter = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.Equal((1, 1), (op.Recalls, op.Idles));
            Assert.False(op.Busy);
        });
    }

    [Fact]
    public void Kill_OfAnOperationThatCannotBeRecalled_EndsTheWaitAtOnce_AndDetachesItUntilItsCompletion()
    {
        Run(async () =>
        {
            var op = new Probe { Recallable = false };
            var waiter = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            waiter.Kill();
            await waiter.JoinAsync(); // the wait did not wait for the operation
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.True(op.Busy);   // libuv (say) still owns it
            Assert.Equal(0, op.Idles);
            Assert.Throws<InvalidOperationException>(() => op.Start()); // not reusable while detached
            op.Finish(7);           // the late completion is dropped
            Assert.False(op.Busy);
            Assert.Equal(1, op.Idles);
            Assert.Equal(0, op.NeverAwaited);
        });
    }

    [Fact]
    public void Timeout_OfAnOperationThatCannotBeRecalled_ReturnsAtOnce_AndTheLateCompletionFreesIt()
    {
        Run(async () =>
        {
            var op = new Probe { Recallable = false };
            Assert.Equal(-1, await op.Start(Ms(5)));
            Assert.True(op.Busy);
            op.Finish(3);
            Assert.Equal(1, op.Idles);
            Assert.False(op.Busy);
        });
    }

    [Fact]
    public void ACompletionThatReachedTheWaiter_StandsAgainstAKillBeforeItRuns_TheKillLandsAtTheNextPark()
    {
        Run(async () =>
        {
            var op = new Probe();
            int got = 0;
            var waiter = Tasklet.Spawn(async () =>
            {
                got = await op.Start();
                await Tasklet.Yield(); // the kill lands here
                got = -100;
            });
            await Tasklet.Yield();
            op.Finish(5);
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.Equal(5, got);
            Assert.Equal(0, op.Recalls);
        });
    }

    [Fact]
    public void AnExpiredScope_AbortsTheWait_UnlessItIsShielded()
    {
        Run(async () =>
        {
            var op = new Probe();
            using (var scope = CancelScope.FailAfter(Ms(5)))
            {
                await Assert.ThrowsAsync<TimeoutException>(async () => await op.Start());
            }
            Assert.Equal(1, op.Recalls);

            int result = 0;
            var shielded = Tasklet.Spawn(async () =>
            {
                using var scope = CancelScope.FailAfter(Ms(1));
                result = await op.Start(shielded: true);
            });
            await Tasklet.Sleep(Ms(20)); // well past the scope's deadline
            Assert.Equal(TaskletState.Parked, shielded.State);
            op.Finish(9);
            await shielded;
            Assert.Equal(9, result);
        });
    }

    [Fact]
    public void AwaitingTheValueTaskTwice_IsTheOneAwaitedTwiceError()
    {
        Run(async () =>
        {
            var op = new Probe();
            ValueTask<int> wait = default;
            var waiter = Tasklet.Spawn(async () =>
            {
                wait = op.Start();
                return await wait;
            });
            await Tasklet.Yield();
            op.Finish(1);
            Assert.Equal(1, await waiter);
            var error = Assert.Throws<InvalidOperationException>(() => wait.GetAwaiter().GetResult());
            Assert.Contains("awaited twice", error.Message);
            Assert.Contains("the probe", error.Message);
        });
    }

    [Fact]
    public void ACompletionBeforeTheAwait_IsDeliveredWhenTheAwaitComes()
    {
        Run(async () =>
        {
            var op = new Probe();
            var wait = op.Start();
            op.Finish(11); // the caller has not awaited yet
            Assert.Equal(11, await wait);
            Assert.Equal(1, op.Idles);
        });
    }

    [Fact]
    public void ARecallableWait_ThatItsTaskletNeverAwaited_IsRecalledWhenTheTaskletEnds()
    {
        Run(async () =>
        {
            var op = new Probe();
            var careless = Tasklet.Spawn(() =>
            {
                _ = op.Start(); // never awaited
                return Task.CompletedTask;
            });
            await careless;
            Assert.Equal((1, 1), (op.Recalls, op.Idles)); // out of its wait list, and reusable
            Assert.False(op.Busy);
            Assert.Equal(5, await Tasklet.Spawn(async () =>
            {
                var wait = op.Start();
                op.Finish(5);
                return await wait;
            }));
        });
    }

    [Fact]
    public void ACompletionAfterTheTaskletEndedWithoutAwaiting_IsHandedToOnNeverAwaited()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var op = new Probe { Recallable = false }; // libuv (say) owns it: only its completion frees it
            var careless = Tasklet.Spawn(() =>
            {
                _ = op.Start(); // never awaited: the tasklet ends with its park unregistered
                return Task.CompletedTask;
            });
            await careless;
            op.Fail(new IOException("nobody hears this"));
            Assert.Equal(1, op.NeverAwaited);
            Assert.IsType<IOException>(op.NeverAwaitedError);
            Assert.Equal(1, op.Idles);
            Assert.False(op.Busy);
        }, reports);
    }

    [Fact]
    public void AWakeBySomethingElse_AbandonsTheWait_WithAnErrorNamingTheOperation()
    {
        Run(async () =>
        {
            var op = new Probe();
            var waiter = Tasklet.Spawn(async () => await op.Start());
            await Tasklet.Yield();
            waiter.Unpark(); // not the operation's own Complete
            var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await waiter);
            Assert.Contains("the probe", error.Message);
            Assert.Contains("something other than the operation", error.Message);
            Assert.Equal((1, 1), (op.Recalls, op.Idles));
        });
    }

    [Fact]
    public void CompletingAnIdleOperation_IsAnError()
    {
        Run(() =>
        {
            var op = new Probe();
            var error = Assert.Throws<InvalidOperationException>(() => op.Finish(1));
            Assert.Contains("nothing waited", error.Message);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void ParkingOutsideATasklet_IsAClearError_AndLeavesTheOperationIdle()
    {
        using var loop = new EventLoop();
        var op = new Probe();
        var error = Assert.Throws<InvalidOperationException>(() => op.Start());
        Assert.Contains("Probe.WaitAsync", error.Message);
        Assert.False(op.Busy);
    }

    [Fact]
    public void AVoidWait_CompletesWithoutAResult()
    {
        Run(async () =>
        {
            var op = new Probe();
            var waiter = Tasklet.Spawn(async () => await op.StartVoid());
            await Tasklet.Yield();
            op.Finish(1);
            await waiter;
            Assert.Equal(1, op.Idles);
        });
    }
}
