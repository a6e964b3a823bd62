using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncRLock (Evergreen's RLock): recursion, ownership, FIFO handoff, kills and timeouts.</summary>
public class AsyncRLockTests
{
    [Fact]
    public void Owner_AcquiresAgain_AndMustReleaseAsManyTimes()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var me = Tasklet.Current!;
            Assert.True(await rl.AcquireAsync());
            Assert.True(await rl.AcquireAsync(TimeSpan.Zero));
            Assert.True(rl.TryAcquire());
            using (await rl.LockAsync())
            {
                Assert.Same(me, rl.Owner);
                Assert.Equal(4, rl.RecursionCount);
            }
            Assert.Equal(3, rl.RecursionCount);
            var other = Tasklet.Spawn(async () => Assert.False(await rl.AcquireAsync(Ms(2))));
            await other;
            rl.Release();
            rl.Release();
            Assert.True(rl.IsLocked);
            rl.Release();
            Assert.False(rl.IsLocked);
            Assert.Null(rl.Owner);
            Assert.Equal(0, rl.RecursionCount);
        });
    }

    [Fact]
    public void Release_ByAnotherTasklet_IsRefused_StatingTheRule()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var e = Assert.Throws<InvalidOperationException>(rl.Release);
            Assert.Contains("only be released by the tasklet that holds it", e.Message);
            Assert.Contains("not locked", e.Message);
            await rl.AcquireAsync();
            var t = Tasklet.Spawn(() => { rl.Release(); return Task.CompletedTask; }, "intruder");
            var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await t);
            Assert.Contains("'intruder'", error.Message);
            Assert.Equal(1, rl.RecursionCount);
            rl.Release();
        });
    }

    [Fact]
    public void FinalRelease_HandsTheLockToTheFirstWaiter_InFifoOrder()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var order = new List<int>();
            await rl.AcquireAsync();
            await rl.AcquireAsync();
            var waiters = Enumerable.Range(1, 3).Select(i => Tasklet.Spawn(async () =>
            {
                using (await rl.LockAsync())
                using (await rl.LockAsync())
                {
                    order.Add(i);
                    await Tasklet.Yield();
                }
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, rl.WaitingCount);
            rl.Release();
            Assert.Equal(3, rl.WaitingCount); // still mine
            Assert.Same(Tasklet.Current, rl.Owner);
            rl.Release();
            Assert.Same(waiters[0], rl.Owner);   // handed over before it runs
            Assert.Equal(1, rl.RecursionCount);
            Assert.False(rl.TryAcquire());      // no barging
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3], order);
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void KilledOrTimedOutWaiter_LeavesNoTrace()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            await rl.AcquireAsync();
            var killed = Tasklet.Spawn(async () => { await rl.AcquireAsync(); rl.Release(); });
            // 100 ms: the four must surely be queued when the test counts them, even on a loaded
            // machine; the scope's timeout is expected inside its tasklet (a failure nobody awaits
            // yet would be reported as unhandled).
            var scoped = Tasklet.Spawn(() => Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(100))) await rl.AcquireAsync();
            }));
            var timed = Tasklet.Spawn(async () => Assert.False(await rl.AcquireAsync(Ms(100))));
            var last = Tasklet.Spawn(async () => { await rl.AcquireAsync(); rl.Release(); });
            await Tasklet.Yield();
            Assert.Equal(4, rl.WaitingCount);
            killed.Kill();
            await killed.JoinAsync();
            await scoped;
            await timed;
            Assert.Equal(1, rl.WaitingCount);
            Assert.Equal(1, rl.RecursionCount);
            rl.Release();
            Assert.Same(last, rl.Owner);
            await last;
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void KillAfterTheHandoff_KeepsTheLock_UntilTheUsingBlockReleasesIt()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            await rl.AcquireAsync();
            var first = Tasklet.Spawn(async () =>
            {
                using (await rl.LockAsync()) await Tasklet.Yield();
            });
            var second = Tasklet.Spawn(async () => { using (await rl.LockAsync()) { } });
            await Tasklet.Yield();
            rl.Release();
            first.Kill();
            Assert.Same(first, rl.Owner);
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
            await second;
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void OutsideATasklet_IsRefused_AndAnotherThreadToo()
    {
        Run(async loop =>
        {
            var rl = new AsyncRLock();
            Exception? seen = null;
            loop.CallSoon(() =>
            {
                try { rl.TryAcquire(); } catch (Exception e) { seen = e; }
            });
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.Contains("owned by a tasklet", seen!.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => rl.AcquireAsync(Ms(-5)));
            var e = OtherThread.Call(() => rl.TryAcquire());
            Assert.Contains("loop's own thread", e!.Message);
            Assert.False(rl.IsLocked);
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(2024)]
    public void Random_KillsTimeoutsAndRecursion_KeepOneOwnerAndItsCount(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            var rl = new AsyncRLock();
            Tasklet? holder = null;
            int depth = 0, acquired = 0;
            bool stop = false;

            async Task Worker()
            {
                while (!stop)
                {
                    if (!await Enter(0)) await Tasklet.Yield();
                }
            }

            // Takes the lock once more (recursively, up to 3 deep) and holds it for a few yields.
            async Task<bool> Enter(int level)
            {
                int pick = rng.Next(3);
                if (!await rl.AcquireAsync(pick == 0 ? null : pick == 1 ? TimeSpan.Zero : Ms(1))) return false;
                try
                {
                    var me = Tasklet.Current!;
                    Assert.True(level == 0 ? holder is null : holder == me, $"seed {seed}: two owners");
                    holder = me;
                    depth++;
                    acquired++;
                    Assert.True(rl.Owner == me && rl.RecursionCount == depth, $"seed {seed}: owner {rl} vs depth {depth}");
                    for (int y = rng.Next(3); y > 0; y--) await Tasklet.Yield();
                    if (level < 2 && rng.Next(3) == 0) await Enter(level + 1);
                }
                finally
                {
                    depth--;
                    if (depth == 0) holder = null;
                    rl.Release();
                }
                return true;
            }

            var workers = Enumerable.Range(0, 5).Select(i => Tasklet.Spawn(Worker, $"w{i}")).ToList();
            for (int step = 0; step < 3000; step++)
            {
                if (rng.Next(20) == 0)
                {
                    int k = rng.Next(workers.Count);
                    workers[k].Kill();
                    await workers[k].JoinAsync();
                    workers[k] = Tasklet.Spawn(Worker, $"w{k}'");
                }
                else
                {
                    await Tasklet.Yield();
                }
                Assert.True(rl.IsLocked || rl.WaitingCount == 0, $"seed {seed}: step {step}: a waiter parked on a free lock");
                Assert.True(rl.IsLocked == (rl.RecursionCount > 0), $"seed {seed}: step {step}: {rl}");
                Assert.True(holder is null || holder == rl.Owner, $"seed {seed}: step {step}: {holder} inside, {rl}");
            }
            stop = true;
            foreach (var w in workers) await w.JoinAsync();
            foreach (var w in workers) Assert.True(w.State is TaskletState.Completed, $"seed {seed}: {w} {w.Exception}");
            Assert.False(rl.IsLocked, $"seed {seed}: left locked: {rl}");
            Assert.True(acquired > 100, $"seed {seed}: only {acquired} acquisitions");
        });
    }
}
