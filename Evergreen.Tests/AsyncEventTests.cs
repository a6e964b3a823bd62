using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncEvent: Evergreen's Event (Python's threading.Event) on the core park.</summary>
public class AsyncEventTests
{
    [Fact]
    public void Set_WakesAWaiter_WhoseWaitReturnsTrue()
    {
        // Evergreen's test_event: one tasklet waits, another sets.
        Run(async () =>
        {
            var ev = new AsyncEvent();
            Assert.False(ev.IsSet);
            var waiter = Tasklet.Spawn(async () => await ev.WaitAsync());
            var setter = Tasklet.Spawn(async () => { await Tasklet.Yield(); ev.Set(); });
            Assert.True(await waiter);
            await setter;
            Assert.True(ev.IsSet);
        });
    }

    [Fact]
    public void Set_WakesEveryWaiter_InFifoOrder()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var woke = new List<int>();
            var waiters = Enumerable.Range(1, 5).Select(i => Tasklet.Spawn(async () =>
            {
                Assert.True(await ev.WaitAsync());
                woke.Add(i);
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(5, ev.WaitingCount);
            Assert.All(waiters, w => Assert.Equal(TaskletState.Parked, w.State));
            Assert.Contains("AsyncEvent", waiters[0].WaitingOn);
            ev.Set();
            Assert.Equal(0, ev.WaitingCount);
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3, 4, 5], woke);
        });
    }

    [Fact]
    public void WaitAsync_WhenSet_ReturnsTrueAtOnce_WithoutYielding()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            ev.Set();
            ev.Set(); // setting a set event does nothing
            var other = Tasklet.Spawn(() => Task.CompletedTask);
            var wait = ev.WaitAsync();
            Assert.True(wait.IsCompletedSuccessfully);
            Assert.True(await wait);
            Assert.Equal(TaskletState.Running, other.State); // it did not get to run: no yield happened
            Assert.True(await ev.WaitAsync(TimeSpan.Zero));
            Assert.True(await new AsyncEvent(initialState: true).WaitAsync());
            await other;
        });
    }

    [Fact]
    public void WaitAsync_WithTimeout_ReturnsFalse_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            Assert.False(await ev.WaitAsync(Ms(5)));
            Assert.False(await ev.WaitAsync(TimeSpan.Zero)); // a zero timeout still parks once (a yield point)
            Assert.Equal(0, ev.WaitingCount);
            Assert.False(ev.IsSet);
            var later = Tasklet.Spawn(async () => await ev.WaitAsync(TimeSpan.FromSeconds(30)));
            await Tasklet.Yield();
            ev.Set();
            Assert.True(await later);
        });
    }

    [Fact]
    public void Clear_MakesLaterWaitsPark_UntilTheNextSet()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            ev.Set();
            ev.Clear();
            Assert.False(ev.IsSet);
            Assert.False(await ev.WaitAsync(Ms(2)));
            var waiter = Tasklet.Spawn(async () => await ev.WaitAsync());
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, waiter.State);
            ev.Set();
            Assert.True(await waiter);
        });
    }

    [Fact]
    public void WokenBySet_ThenClearedBeforeItRuns_StillReturnsTrue()
    {
        // The handoff rule: the wake-up belongs to the waiter, whatever happens before it runs.
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var waiter = Tasklet.Spawn(async () => await ev.WaitAsync(Ms(50)));
            await Tasklet.Yield();
            ev.Set();
            ev.Clear();
            Assert.True(await waiter);
            Assert.False(ev.IsSet);
        });
    }

    [Fact]
    public void WokenBySet_ThenKilledBeforeItRuns_ReturnsTrue_AndTheKillLandsAtTheNextPark()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var log = new List<string>();
            var waiter = Tasklet.Spawn(async () =>
            {
                log.Add($"woken: {await ev.WaitAsync()}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            ev.Set();
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(["woken: True", "killed at the next park"], log);
        });
    }

    [Fact]
    public void KilledWaiter_LeavesTheQueue_AndTheOthersAreStillWoken()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var first = Tasklet.Spawn(async () => await ev.WaitAsync());
            var second = Tasklet.Spawn(async () => await ev.WaitAsync());
            await Tasklet.Yield();
            first.Kill();
            Assert.Equal(1, ev.WaitingCount);
            Assert.False(ev.IsSet);
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
            ev.Set();
            Assert.True(await second);
        });
    }

    [Fact]
    public void ExpiredCancelScope_ThrowsTimeoutException_AndLeavesTheEventUnchanged()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(3))) await ev.WaitAsync();
            });
            Assert.Equal(0, ev.WaitingCount);
            Assert.False(ev.IsSet);
            Assert.False(await CancelScope.MoveOnAfterAsync(Ms(2), async () => { await ev.WaitAsync(); }));
        });
    }

    [Fact]
    public void NegativeTimeout_IsRefused_EvenWhenSet()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            Assert.Throws<ArgumentOutOfRangeException>(() => ev.WaitAsync(Ms(-5)));
            ev.Set();
            Assert.Throws<ArgumentOutOfRangeException>(() => ev.WaitAsync(Ms(-5)));
            Assert.True(await ev.WaitAsync(Timeout.InfiniteTimeSpan));
        });
    }

    [Fact]
    public void WaitAsync_OutsideATasklet_WhenClear_IsRefused()
    {
        Run(async loop =>
        {
            var ev = new AsyncEvent();
            Exception? error = null;
            bool setResult = false;
            loop.CallSoon(() =>
            {
                try { ev.WaitAsync(); } catch (Exception e) { error = e; }
                ev.Set();
                setResult = ev.WaitAsync().Result; // set: no park needed, so no tasklet needed
            });
            await Tasklet.Sleep(Ms(1));
            Assert.IsType<InvalidOperationException>(error);
            Assert.Contains("outside any tasklet", error!.Message);
            Assert.True(setResult);
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            ev.Clear(); // binds it to this loop
            var errors = OtherThread.CallEach(ev.Set, ev.Clear, () => _ = ev.IsSet, () => ev.WaitAsync()).OfType<Exception>().ToList();
            Assert.Equal(4, errors.Count);
            Assert.All(errors, e => Assert.Contains("loop's own thread", Assert.IsType<InvalidOperationException>(e).Message));
            Assert.False(ev.IsSet);
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void ToString_SaysStateAndWaiters()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var waiter = Tasklet.Spawn(async () => await ev.WaitAsync());
            await Tasklet.Yield();
            Assert.Matches(@"^AsyncEvent #\d+ \(clear, 1 waiting\)$", ev.ToString());
            Assert.Equal(ev.ToString(), waiter.WaitingOn);
            ev.Set();
            Assert.Matches(@"^AsyncEvent #\d+ \(set\)$", ev.ToString());
            await waiter;
        });
    }

    [Fact]
    public void SteadyState_SetAndWait_AllocateNothingPerOperation()
    {
        Run(async () =>
        {
            var ev = new AsyncEvent();
            var back = new AsyncEvent();
            const int rounds = 2000;
            var waiter = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 2 * rounds; i++)
                {
                    await ev.WaitAsync();
                    ev.Clear();
                    back.Set();
                }
            });
            async Task Rounds(int n)
            {
                for (int i = 0; i < n; i++)
                {
                    await Tasklet.Yield();
                    ev.Set();
                    await back.WaitAsync();
                    back.Clear();
                }
            }
            await Rounds(rounds); // warm up
            long before = GC.GetAllocatedBytesForCurrentThread();
            await Rounds(rounds);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await waiter;
            Assert.True(allocated < rounds, $"{allocated} bytes allocated over {rounds} rounds of park, set and wake");
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(20260)]
    public void RandomOperations_KeepTheEventsInvariants(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            var ev = new AsyncEvent();
            var waiters = new List<Waiter>();
            int done = 0;

            void Check(bool condition, string what, int step)
            {
                if (!condition) Assert.Fail($"seed {seed}, step {step}: {what} ({ev})");
            }

            Tasklet SpawnWaiter(Waiter w, int step) => Tasklet.Spawn(async () =>
            {
                var wait = ev.WaitAsync(w.Timeout);
                if (wait.IsCompleted)
                {
                    Check(ev.IsSet && wait.Result, "a wait that did not park found the event set", step);
                    w.Result = true;
                    done++;
                    return;
                }
                w.Parked = true;
                try
                {
                    w.Result = await wait;
                }
                finally
                {
                    w.Parked = false;
                    done++;
                }
            });

            const int steps = 3000;
            for (int step = 0; step < steps; step++)
            {
                int op = rng.Next(100);
                var live = waiters.Where(w => w.Task.IsAlive).ToList();
                if (op < 30 && live.Count < 8)
                {
                    var w = new Waiter { Timeout = rng.Next(4) switch { 0 => null, 1 => TimeSpan.Zero, _ => Ms(rng.Next(1, 3)) } };
                    w.Task = SpawnWaiter(w, step);
                    waiters.Add(w);
                }
                else if (op < 40)
                {
                    foreach (var w in waiters.Where(w => w.Parked && w.Task.IsParked)) w.WokenBySet = true;
                    ev.Set();
                }
                else if (op < 55)
                {
                    ev.Clear();
                }
                else if (op < 62 && live.Count > 0)
                {
                    var victim = live[rng.Next(live.Count)];
                    if (victim.Task.IsParked) victim.KilledWhileParked = true;
                    victim.Task.Kill();
                }
                else if (op < 65)
                {
                    await Tasklet.Sleep(Ms(1));
                }
                else
                {
                    await Tasklet.Yield();
                }

                int inQueue = waiters.Count(w => w.Parked && w.Task.IsParked);
                Check(inQueue == ev.WaitingCount, $"{inQueue} waiters parked on the event but WaitingCount is {ev.WaitingCount}", step);
                Check(!ev.IsSet || ev.WaitingCount == 0, "a set event has waiters", step);
            }

            ev.Set();
            foreach (var w in waiters) await w.Task.JoinAsync();
            Check(waiters.All(w => !w.Parked) && done <= waiters.Count, "a waiter is still parked", steps);
            Check(waiters.Any(w => w.WokenBySet) && waiters.Any(w => w.KilledWhileParked) && waiters.Any(w => w.Result == false),
                "the run never woke, killed or timed out a parked waiter: the test exercised too little", steps);
            foreach (var w in waiters)
            {
                if (w.WokenBySet) Check(w.Result == true && w.Task.State != TaskletState.Failed, "a waiter woken by Set did not return true (even if killed or cleared after)", steps);
                else if (w.KilledWhileParked) Check(w.Task.State == TaskletState.Killed && w.Result is null, "a waiter killed while parked was not killed", steps);
                else if (w.Result == false) Check(w.Timeout is not null, "a wait without timeout returned false", steps);
                Check(w.Task.State != TaskletState.Failed, $"a waiter failed: {w.Task.Exception}", steps);
            }
        });
    }

    private sealed class Waiter
    {
        public Tasklet Task = null!;
        public TimeSpan? Timeout;
        public bool Parked;
        public bool WokenBySet;
        public bool KilledWhileParked;
        public bool? Result;
    }
}
