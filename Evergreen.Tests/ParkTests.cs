using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>The one way to park: WaitQueue and Tasklet.ParkAsync, with kill, timeout and scopes.</summary>
public class ParkTests
{
    [Fact]
    public void UnparkOne_WakesWaitersInFifoOrder()
    {
        Run(async () =>
        {
            var queue = new WaitQueue("the test gate");
            var woke = new List<int>();
            var waiters = Enumerable.Range(1, 3).Select(i => Tasklet.Spawn(async () =>
            {
                Assert.True(await queue.ParkAsync());
                woke.Add(i);
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, queue.Count);
            Assert.All(waiters, w => Assert.Equal(TaskletState.Parked, w.State));
            Assert.Equal("the test gate", waiters[0].WaitingOn);
            Assert.Same(waiters[0], queue.Peek());
            Assert.True(queue.UnparkOne());
            Assert.Equal(2, queue.UnparkAll());
            Assert.False(queue.UnparkOne());
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3], woke);
        });
    }

    [Fact]
    public void ParkTimeout_ReturnsFalse_AndLeavesTheQueue()
    {
        Run(async () =>
        {
            var queue = new WaitQueue();
            Assert.False(await queue.ParkAsync(Ms(10)));
            Assert.Equal(0, queue.Count);
            Assert.False(await queue.ParkAsync(TimeSpan.Zero));
            Assert.Throws<ArgumentOutOfRangeException>(() => queue.ParkAsync(Ms(-5)));
        });
    }

    [Fact]
    public void KilledWaiter_LeavesTheQueue_AndTheNextWaiterIsServed()
    {
        Run(async () =>
        {
            var queue = new WaitQueue();
            var first = Tasklet.Spawn(async () => await queue.ParkAsync());
            var second = Tasklet.Spawn(async () => await queue.ParkAsync());
            await Tasklet.Yield();
            first.Kill();
            Assert.Equal(1, queue.Count);
            Assert.Same(second, queue.Peek());
            Assert.True(queue.UnparkOne());
            await second;
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
        });
    }

    [Fact]
    public void WokenThenKilledBeforeRunning_KeepsItsWakeup_AndTheKillLandsAtTheNextPark()
    {
        // trio's rule: once woken, the outcome stands (a lock handed over stays handed over).
        Run(async () =>
        {
            var queue = new WaitQueue();
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                log.Add($"woken: {await queue.ParkAsync()}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            queue.UnparkOne();
            t.Kill();
            await t.JoinAsync();
            Assert.Equal(["woken: True", "killed at the next park"], log);
        });
    }

    private sealed class Gate : IParkOwner
    {
        public readonly List<Tasklet> Waiting = new();
        public int Aborts;
        public void AbortPark(Tasklet tasklet)
        {
            Aborts++;
            Waiting.Remove(tasklet);
        }
        public override string ToString() => "the custom gate";
    }

    [Fact]
    public void CustomOwner_IsToldWhenAParkIsAborted_ByKillTimeoutOrScope()
    {
        Run(async () =>
        {
            var gate = new Gate();
            async Task<bool> WaitAtGate(TimeSpan? timeout)
            {
                gate.Waiting.Add(Tasklet.Current!);
                return await Tasklet.ParkAsync(gate, timeout);
            }

            Assert.False(await WaitAtGate(Ms(5)));                               // own timeout
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(5))) await WaitAtGate(null);    // a scope
            });
            var victim = Tasklet.Spawn(() => WaitAtGate(null));
            await Tasklet.Yield();
            Assert.Equal("the custom gate", victim.WaitingOn);
            Assert.Same(gate, victim.ParkOwner);
            victim.Kill();                                                       // a kill
            await victim.JoinAsync();
            Assert.Equal(3, gate.Aborts);
            Assert.Empty(gate.Waiting);

            var woken = Tasklet.Spawn(() => WaitAtGate(null));
            await Tasklet.Yield();
            Assert.True(woken.IsParked);
            gate.Waiting.Remove(woken);
            woken.Unpark();
            Assert.True(await woken);
            Assert.Equal(3, gate.Aborts);
        });
    }

    [Fact]
    public void UnparkWithError_IsThrownByThePark()
    {
        Run(async () =>
        {
            var queue = new WaitQueue();
            var t = Tasklet.Spawn(async () => await queue.ParkAsync());
            await Tasklet.Yield();
            queue.UnparkOne(new InvalidDataException("broken"));
            var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await t);
            Assert.Equal("broken", e.Message);
        });
    }

    [Fact]
    public void Unpark_OfATaskletThatIsNotParked_IsRefused()
    {
        Run(async () =>
        {
            var me = Tasklet.Current!;
            var e = Assert.Throws<InvalidOperationException>(me.Unpark);
            Assert.Contains("not parked", e.Message);
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(Ms(1)));
            await Tasklet.Yield();
            t.Unpark(); // a parked sleeper may be woken early
            t.Kill();
            await t.JoinAsync();
            Assert.Throws<InvalidOperationException>(t.Unpark);
        });
    }

    [Fact]
    public void PendingKill_AbortsTheNextParkAtOnce_AndLeavesNoWaiterBehind()
    {
        Run(async () =>
        {
            var queue = new WaitQueue();
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                Tasklet.Current!.Kill();          // not parked: pending
                log.Add("still running");
                try { await queue.ParkAsync(); }
                finally { log.Add($"queue has {queue.Count}"); }
            });
            await t.JoinAsync();
            Assert.Equal(["still running", "queue has 0"], log);
            Assert.Equal(TaskletState.Killed, t.State);
        });
    }
}

public class ParkContinuationTests
{
    [Fact]
    public void EveryWayOfAwaitingAPark_ResumesInTheSameTasklet()
    {
        // The runtime hands a park one of a few static continuation delegates, depending on how
        // it is awaited; each must resume the same tasklet. (Only the runtime's own delegates are
        // used here: the process-wide table they are learned into is not filled by the test.)
        TestLoop.Run(async () =>
        {
            var queue = new WaitQueue();
            var me = Tasklet.Current!;
            var waker = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 4; i++)
                {
                    while (queue.IsEmpty) await Tasklet.Yield();
                    queue.UnparkOne();
                }
            });
            Assert.True(await queue.ParkAsync());                       // the runtime's box invoker
            Assert.Same(me, Tasklet.Current);
            Assert.True(await queue.ParkAsync().AsTask());              // ValueTask.AsTask's completion
            Assert.Same(me, Tasklet.Current);
            Assert.True(await queue.ParkAsync().ConfigureAwait(true));  // a configured awaiter
            Assert.Same(me, Tasklet.Current);
            var done = new TaskCompletionSource<bool>();
            var park = queue.ParkAsync();
            var awaiter = park.GetAwaiter();
            awaiter.OnCompleted(() => done.SetResult(awaiter.GetResult())); // the runtime's Action invoker
            Assert.True(await done.Task);
            Assert.Same(me, Tasklet.Current);
            await waker;
        });
    }

    [Fact]
    public void ContinuationTable_LearnsUpToItsCapacity_ThenSaysItIsFull()
    {
        int n = 0;
        Action<object?> seed = _ => n++;
        Action<object?> a = _ => n += 2;
        Action<object?> b = _ => n += 3;
        var table = new ContinuationTable(2, seed);
        Assert.Equal(0, table.IndexOf(seed));
        Assert.Equal(1, table.IndexOf(a));
        Assert.Equal(1, table.IndexOf(a));
        Assert.Equal(-1, table.IndexOf(b));
        Assert.Same(a, table[1]);
    }

    [Fact]
    public void ContinuationTable_LearnedFromSeveralThreads_GivesEachDelegateOneIndex()
    {
        var table = new ContinuationTable(7);
        // Capturing lambdas: a non-capturing one is cached, and all five would be one delegate.
        var delegates = Enumerable.Range(0, 5).Select(i => (Action<object?>)(_ => GC.KeepAlive(i))).ToArray();
        var seen = new int[8][];
        Parallel.For(0, 8, t => seen[t] = delegates.Select(table.IndexOf).ToArray());
        Assert.All(seen, indices => Assert.Equal(seen[0], indices));
        Assert.Equal(5, seen[0].Distinct().Count());
        Assert.All(seen[0], i => Assert.InRange(i, 0, 6));
    }
}
