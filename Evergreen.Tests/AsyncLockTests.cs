using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncLock (Evergreen's Lock): what is its own (release rules, threads, allocation, a random soak); FIFO handoff, timeouts and kills at the wait are LockFamilyTests, run for it by AsyncLockFamilyTests.</summary>
public class AsyncLockTests
{
    [Fact]
    public void AcquireAndRelease_LockAndUnlock()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            Assert.False(lk.IsLocked);
            Assert.True(await lk.AcquireAsync());
            Assert.True(lk.IsLocked);
            Assert.False(lk.TryAcquire());
            lk.Release();
            Assert.False(lk.IsLocked);
            Assert.True(lk.TryAcquire());
            lk.Release();
            using (await lk.LockAsync()) Assert.True(lk.IsLocked);
            Assert.False(lk.IsLocked);
            default(AsyncReleaser).Dispose(); // does nothing
            Assert.False(lk.IsLocked);
        });
    }

    [Fact]
    public void Release_WhenNotLocked_IsRefused_StatingTheRule()
    {
        Run(() =>
        {
            var lk = new AsyncLock();
            var e = Assert.Throws<InvalidOperationException>(lk.Release);
            Assert.Contains("not locked", e.Message);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void Release_ByAnotherTasklet_IsAllowed_LikePythonsLock()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            await lk.AcquireAsync();
            await Tasklet.Spawn(() => { lk.Release(); return Task.CompletedTask; });
            Assert.False(lk.IsLocked);
        });
    }

    [Fact]
    public void ReleaseRacingAKill_HandsTheLockToTheNextWaiter()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            await lk.AcquireAsync();
            var first = Tasklet.Spawn(async () => { await lk.AcquireAsync(); lk.Release(); });
            var second = Tasklet.Spawn(async () => { await lk.AcquireAsync(); lk.Release(); });
            await Tasklet.Yield();
            first.Kill();   // the same loop step: the kill first ...
            lk.Release();   // ... so the release skips it
            Assert.Contains("locked by " + second.Describe(), lk.ToString());
            await second;
            await first.JoinAsync();
            Assert.False(lk.IsLocked);
        });
    }

    [Fact]
    public void AcquireOutsideATasklet_WhenItMustWait_IsRefused()
    {
        Run(async loop =>
        {
            var lk = new AsyncLock();
            await lk.AcquireAsync();
            Exception? seen = null;
            bool free = false;
            loop.CallSoon(() =>
            {
                try { lk.AcquireAsync(); } catch (Exception e) { seen = e; }
            });
            await Tasklet.Yield();
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.Equal(0, lk.WaitingCount);
            lk.Release();
            loop.CallSoon(() => free = lk.TryAcquire()); // taking a free lock needs no tasklet
            await Tasklet.Yield();
            Assert.True(free);
            lk.Release();
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            await lk.AcquireAsync();
            var e = OtherThread.Call(() => lk.Release());
            Assert.Contains("loop's own thread", e?.Message);
            lk.Release();
        });
    }

    [Fact]
    public void UncontendedAcquireAndRelease_AllocateNothing()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            for (int round = 0; round < 2; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 100; i++)
                {
                    await lk.AcquireAsync();
                    lk.Release();
                    using (await lk.LockAsync()) { }
                    if (lk.TryAcquire()) lk.Release();
                }
                if (round == 1) Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        });
    }

    [Fact]
    public void ContendedHandoffs_InSteadyState_AllocateNothing()
    {
        // Two tasklets pass the lock back and forth: every acquire parks and every release hands
        // over. Waiter nodes are pooled and AcquireAsync returns the core park itself.
        Run(async () =>
        {
            var lk = new AsyncLock();
            long allocated = await BytesOfTheSecondRoundOfTurns(async rounds =>
            {
                for (int i = 0; i < rounds; i++)
                {
                    await lk.AcquireAsync();
                    await Tasklet.Yield();
                    lk.Release();
                }
            });
            // The async methods of the test itself cost a few hundred bytes once; a node or a box
            // per handoff would cost over 10 KB.
            Assert.True(allocated < 1024, $"{allocated} bytes for 400 contended handoffs");
        });
    }

    /// <summary>
    /// Two tasklets run <paramref name="turns"/>(200) side by side, twice; returns the bytes the
    /// measuring tasklet allocated in the second round (steady state: pools are warm).
    /// </summary>
    private static async Task<long> BytesOfTheSecondRoundOfTurns(Func<int, Task> turns)
    {
        long allocated = -1;
        for (int round = 0; round < 2; round++)
        {
            var other = Tasklet.Spawn(() => turns(200));
            long before = GC.GetAllocatedBytesForCurrentThread();
            await turns(200);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await other;
        }
        return allocated;
    }

    [Theory]
    [InlineData("lock")]
    [InlineData("rlock")]
    [InlineData("semaphore")]
    public void ContendedScopeForm_InSteadyState_AllocatesNothing(string kind)
    {
        // using (await l.LockAsync()) when it must wait: the pooled queue node is the ValueTask source,
        // forwarding to the waiting tasklet's own park, so no box and no node is allocated per wait.
        Run(async () =>
        {
            Func<ValueTask<AsyncReleaser>> lockAsync = kind switch
            {
                "lock" => new AsyncLock().LockAsync,
                "rlock" => new AsyncRLock().LockAsync,
                _ => new AsyncSemaphore(1).LockAsync,
            };
            int inside = 0;
            long allocated = await BytesOfTheSecondRoundOfTurns(async rounds =>
            {
                for (int i = 0; i < rounds; i++)
                {
                    using (await lockAsync())
                    {
                        if (++inside != 1) throw new InvalidOperationException("two tasklets inside"); // no Assert: it allocates
                        await Tasklet.Yield();
                        inside--;
                    }
                }
            });
            Assert.True(allocated < 1024, $"{allocated} bytes for 400 contended LockAsync waits ({kind})");
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(2024)]
    public void Random_KillsTimeoutsAndYields_NeverBreakExclusion(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            var lk = new AsyncLock();
            int inside = 0, acquired = 0;
            bool stop = false;

            async Task Worker()
            {
                while (!stop)
                {
                    bool got;
                    int pick = rng.Next(4);
                    if (pick == 0)
                    {
                        using (await lk.LockAsync())
                        {
                            await Critical();
                        }
                        continue;
                    }
                    got = await lk.AcquireAsync(pick == 1 ? null : pick == 2 ? TimeSpan.Zero : Ms(1));
                    if (!got) { await Tasklet.Yield(); continue; }
                    try { await Critical(); }
                    finally { lk.Release(); }
                }
            }

            async Task Critical()
            {
                Assert.True(inside == 0, $"seed {seed}: two holders");
                Assert.True(lk.IsLocked, $"seed {seed}: held but unlocked");
                inside++;
                acquired++;
                try
                {
                    for (int y = rng.Next(3); y > 0; y--) await Tasklet.Yield();
                }
                finally { inside--; }
            }

            var workers = Enumerable.Range(0, 5).Select(i => Tasklet.Spawn(Worker, $"w{i}")).ToList();
            for (int step = 0; step < 3000; step++)
            {
                int r = rng.Next(20);
                if (r == 0)
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
                Assert.True(inside <= 1, $"seed {seed}: step {step}: {inside} inside");
                Assert.True(lk.IsLocked || lk.WaitingCount == 0, $"seed {seed}: step {step}: a waiter parked on a free lock");
                Assert.True(lk.WaitingCount <= workers.Count, $"seed {seed}: step {step}: {lk.WaitingCount} waiters");
            }
            stop = true;
            foreach (var w in workers) await w.JoinAsync();
            foreach (var w in workers) Assert.True(w.State is TaskletState.Completed, $"seed {seed}: {w} {w.Exception}");
            Assert.False(lk.IsLocked, $"seed {seed}: left locked");
            Assert.Equal(0, lk.WaitingCount);
            Assert.True(acquired > 100, $"seed {seed}: only {acquired} acquisitions");
        });
    }

    [Fact]
    public void AnAcquireThatItsTaskletNeverAwaited_LeavesTheQueueWhenTheTaskletEnds_AndTheLockGoesToTheNextWaiter()
    {
        Run(async () =>
        {
            var gate = new AsyncLock();
            await gate.AcquireAsync();
            var careless = Tasklet.Spawn(() =>
            {
                _ = gate.AcquireAsync(); // misuse: never awaited; the tasklet ends at once
                return Task.CompletedTask;
            });
            await careless;
            bool got = false;
            var waiter = Tasklet.Spawn(async () =>
            {
                got = await gate.AcquireAsync();
                gate.Release();
            });
            await Tasklet.WaitAllParkedAsync();
            gate.Release(); // must go to the live waiter, not to the tasklet that is gone
            await waiter;
            Assert.True(got);
            Assert.True(await gate.AcquireAsync(TimeSpan.Zero)); // and it was released again
            gate.Release();
        });
    }
}

/// <summary>Runs an action on a fresh thread and returns what it threw.</summary>
