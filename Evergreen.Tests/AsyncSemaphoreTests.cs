using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncSemaphore and AsyncBoundedSemaphore (Evergreen's Semaphore and BoundedSemaphore).</summary>
public class AsyncSemaphoreTests
{
    [Fact]
    public void AcquireAndRelease_CountDownAndUp()
    {
        Run(async () =>
        {
            var sem = new AsyncSemaphore(2);
            Assert.Equal(2, sem.CurrentCount);
            Assert.True(await sem.AcquireAsync());
            Assert.True(sem.TryAcquire());
            Assert.Equal(0, sem.CurrentCount);
            Assert.False(sem.TryAcquire());
            Assert.False(await sem.AcquireAsync(Ms(2)));
            Assert.False(await sem.AcquireAsync(TimeSpan.Zero));
            sem.Release();
            sem.Release();
            sem.Release(); // a plain semaphore may go above its initial count
            Assert.Equal(3, sem.CurrentCount);
            using (await sem.LockAsync()) Assert.Equal(2, sem.CurrentCount);
            Assert.Equal(3, sem.CurrentCount);
            Assert.Equal(1, new AsyncSemaphore().CurrentCount);
            Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncSemaphore(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => sem.AcquireAsync(Ms(-5)));
        });
    }

    [Fact]
    public void Semaphore_LimitsConcurrency_ToItsCount()
    {
        Run(async () =>
        {
            var sem = new AsyncSemaphore(3);
            int inside = 0, most = 0;
            var workers = Enumerable.Range(0, 10).Select(_ => Tasklet.Spawn(async () =>
            {
                using (await sem.LockAsync())
                {
                    most = Math.Max(most, ++inside);
                    await Tasklet.Sleep(Ms(1));
                    inside--;
                }
            })).ToList();
            foreach (var w in workers) await w;
            Assert.Equal(3, most);
            Assert.Equal(3, sem.CurrentCount);
        });
    }

    [Fact]
    public void Release_WithWaiters_HandsThePermitToTheFirst_InFifoOrder()
    {
        Run(async () =>
        {
            var sem = new AsyncSemaphore(0);
            var order = new List<int>();
            var waiters = Enumerable.Range(1, 4).Select(i => Tasklet.Spawn(async () =>
            {
                await sem.AcquireAsync();
                order.Add(i);
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(4, sem.WaitingCount);
            Assert.Equal(waiters, sem.Waiters);
            Assert.Contains($"AsyncSemaphore #{sem.Id}", waiters[0].WaitingOn);
            sem.Release();
            Assert.Equal(0, sem.CurrentCount);   // handed over, not counted
            Assert.False(sem.TryAcquire());      // no barging
            sem.Release();
            sem.Release();
            sem.Release();
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3, 4], order);
            Assert.Equal(0, sem.CurrentCount);
        });
    }

    [Fact]
    public void KilledTimedOutOrScopedWaiter_TakesNoPermit_AndTheNextIsServed()
    {
        Run(async () =>
        {
            var sem = new AsyncBoundedSemaphore(1);
            await sem.AcquireAsync();
            var killed = Tasklet.Spawn(async () => { await sem.AcquireAsync(); sem.Release(); });
            var timed = Tasklet.Spawn(async () => Assert.False(await sem.AcquireAsync(Ms(2))));
            // The scope's timeout is expected inside the tasklet: a failure nobody awaits yet is reported.
            var scoped = Tasklet.Spawn(() => Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await sem.LockAsync();
            }));
            var last = Tasklet.Spawn(async () => { using (await sem.LockAsync()) { } });
            await Tasklet.Yield();
            killed.Kill();
            await killed.JoinAsync();
            await timed;
            await scoped;
            Assert.Equal(1, sem.WaitingCount);
            sem.Release();
            await last;
            Assert.Equal(1, sem.CurrentCount);
        });
    }

    [Fact]
    public void ReleaseRacingAKill_HandsThePermitToTheNextWaiter()
    {
        Run(async () =>
        {
            var sem = new AsyncSemaphore(0);
            var got = new List<string>();
            var first = Tasklet.Spawn(async () => { await sem.AcquireAsync(); got.Add("first"); });
            var second = Tasklet.Spawn(async () => { await sem.AcquireAsync(); got.Add("second"); });
            await Tasklet.Yield();
            first.Kill();
            sem.Release();
            await second;
            await first.JoinAsync();
            Assert.Equal(["second"], got);
            Assert.Equal(0, sem.CurrentCount);
        });
    }

    [Fact]
    public void BoundedSemaphore_ReleasedPastItsInitialCount_Throws_AndChangesNothing()
    {
        Run(async () =>
        {
            var sem = new AsyncBoundedSemaphore(2);
            Assert.Equal(2, sem.MaxCount);
            var e = Assert.Throws<InvalidOperationException>(sem.Release);
            Assert.Contains("cannot be released more times than it was acquired", e.Message);
            Assert.Equal(2, sem.CurrentCount);
            await sem.AcquireAsync();
            sem.Release();
            Assert.Throws<InvalidOperationException>(sem.Release);
            Assert.Equal(2, sem.CurrentCount);
            Assert.Contains("AsyncBoundedSemaphore", sem.ToString());
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var sem = new AsyncSemaphore(1);
            await sem.AcquireAsync();
            var e = OtherThread.Call(sem.Release);
            Assert.Contains("loop's own thread", e!.Message);
            Assert.Equal(0, sem.CurrentCount);
            sem.Release();
        });
    }

    [Fact]
    public void UncontendedAcquireAndRelease_AllocateNothing()
    {
        Run(async () =>
        {
            var sem = new AsyncBoundedSemaphore(2);
            for (int round = 0; round < 2; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 100; i++)
                {
                    await sem.AcquireAsync();
                    using (await sem.LockAsync()) { }
                    sem.Release();
                }
                if (round == 1) Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        });
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, false)]
    [InlineData(42, true)]
    [InlineData(2024, true)]
    public void Random_KillsAndTimeouts_NeverLoseOrInventAPermit(int seed, bool bounded)
    {
        Run(async () =>
        {
            const int permits = 3;
            var rng = new Random(seed);
            AsyncSemaphore sem = bounded ? new AsyncBoundedSemaphore(permits) : new AsyncSemaphore(permits);
            int held = 0, acquired = 0;
            bool stop = false;

            async Task Worker()
            {
                while (!stop)
                {
                    int pick = rng.Next(4);
                    if (pick == 0)
                    {
                        using (await sem.LockAsync()) await Hold();
                        continue;
                    }
                    if (!await sem.AcquireAsync(pick == 1 ? null : pick == 2 ? TimeSpan.Zero : Ms(1)))
                    {
                        await Tasklet.Yield();
                        continue;
                    }
                    try { await Hold(); }
                    finally { sem.Release(); }
                }
            }

            async Task Hold()
            {
                held++;
                acquired++;
                Assert.True(held <= permits, $"seed {seed}: {held} permits out of {permits}");
                try
                {
                    for (int y = rng.Next(3); y > 0; y--) await Tasklet.Yield();
                }
                finally { held--; }
            }

            var workers = Enumerable.Range(0, 6).Select(i => Tasklet.Spawn(Worker, $"w{i}")).ToList();
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
                // Permits are held (counted in held, or handed over and about to be), or free.
                Assert.True(sem.CurrentCount + held <= permits, $"seed {seed}: step {step}: count {sem.CurrentCount}, held {held}");
                Assert.True(sem.CurrentCount == 0 || sem.WaitingCount == 0, $"seed {seed}: step {step}: a waiter parked while permits are free");
            }
            stop = true;
            foreach (var w in workers) await w.JoinAsync();
            foreach (var w in workers) Assert.True(w.State is TaskletState.Completed, $"seed {seed}: {w} {w.Exception}");
            Assert.Equal(permits, sem.CurrentCount);
            Assert.Equal(0, sem.WaitingCount);
            Assert.True(acquired > 100, $"seed {seed}: only {acquired} acquisitions");
        });
    }
}
