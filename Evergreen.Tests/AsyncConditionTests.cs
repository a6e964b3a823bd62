using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncCondition (Evergreen's Condition): wait, notify, wait_for, and the lock always re-held.</summary>
public class AsyncConditionTests
{
    [Fact]
    public void Notify_WakesWaitersOneAtATime_InFifoOrder_ThenNotifyAllTheRest()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            var woke = new List<int>();
            var waiters = Enumerable.Range(1, 5).Select(i => Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    Assert.True(await cond.WaitAsync());
                    Assert.Same(Tasklet.Current, ((AsyncRLock)cond.Lock).Owner);
                    woke.Add(i);
                }
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(5, cond.WaitingCount);
            Assert.Equal(waiters, cond.Waiters);
            Assert.Contains($"AsyncCondition #{cond.Id}", waiters[0].WaitingOn);
            using (await cond.LockAsync()) cond.Notify();
            await Tasklet.WaitAllParkedAsync(); // the notified waiter has run and left
            Assert.Equal(4, cond.WaitingCount);
            using (await cond.LockAsync()) cond.Notify(2);
            await Tasklet.WaitAllParkedAsync();
            Assert.Equal([1, 2, 3], woke);
            Assert.Equal(2, cond.WaitingCount);
            using (await cond.LockAsync()) cond.NotifyAll();
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3, 4, 5], woke);
            using (await cond.LockAsync())
            {
                cond.Notify();     // nobody waits: nothing happens
                cond.NotifyAll();
            }
        });
    }

    [Fact]
    public void NotifiedWaiter_ReturnsOnlyOnceItHoldsTheLockAgain()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            var cond = new AsyncCondition(lk);
            var log = new List<string>();
            var waiter = Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    await cond.WaitAsync();
                    log.Add($"back, locked={lk.IsLocked}");
                }
            });
            await Tasklet.Yield();
            Assert.False(lk.IsLocked);    // the wait released it
            await cond.AcquireAsync();
            cond.Notify();
            await Tasklet.Yield();
            await Tasklet.Yield();
            Assert.Empty(log);            // notified, but the lock is still ours
            Assert.Contains("AsyncLock", waiter.WaitingOn);
            cond.Release();
            await waiter;
            Assert.Equal(["back, locked=True"], log);
            Assert.False(lk.IsLocked);
        });
    }

    [Fact]
    public void Wait_RestoresTheRecursionCountOfAnRLock()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var cond = new AsyncCondition(rl);
            bool second = false;
            var waiter = Tasklet.Spawn(async () =>
            {
                await rl.AcquireAsync();
                await rl.AcquireAsync();
                await rl.AcquireAsync();
                Assert.False(await cond.WaitAsync(Ms(2)));
                Assert.Equal(3, rl.RecursionCount);
                second = true;
                Assert.True(await cond.WaitAsync());
                Assert.Equal(3, rl.RecursionCount);
                for (int i = 0; i < 3; i++) rl.Release();
            });
            while (!second || cond.WaitingCount == 0) await Tasklet.Yield();
            Assert.False(rl.IsLocked); // released fully while waiting
            using (await cond.LockAsync()) cond.Notify();
            await waiter;
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void WaitTimeout_ReturnsFalse_WithTheLockHeld_AndLeavesNoWaiter()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition(new AsyncLock());
            using (await cond.LockAsync())
            {
                Assert.False(await cond.WaitAsync(Ms(2)));
                Assert.True(cond.Lock.TryAcquire() == false);
                Assert.False(await cond.WaitAsync(TimeSpan.Zero));
                Assert.Equal(0, cond.WaitingCount);
                Assert.Throws<ArgumentOutOfRangeException>(() => cond.WaitAsync(Ms(-5)));
            }
        });
    }

    [Fact]
    public void WaitOrNotify_WithoutTheLock_IsRefused_StatingTheRule()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            var e = Assert.Throws<InvalidOperationException>(() => cond.WaitAsync());
            Assert.Contains("can only be waited on by a tasklet that holds its lock", e.Message);
            Assert.Throws<InvalidOperationException>(() => cond.WaitForAsync(() => true));
            e = Assert.Throws<InvalidOperationException>(() => cond.Notify());
            Assert.Contains("can only be notified by a tasklet that holds its lock", e.Message);
            Assert.Throws<InvalidOperationException>(cond.NotifyAll);

            // An RLock held by another tasklet is not held by this one.
            var holder = Tasklet.Spawn(async () => { using (await cond.LockAsync()) await Tasklet.Sleep(Ms(2)); });
            await Tasklet.Yield();
            Assert.Throws<InvalidOperationException>(() => cond.Notify());
            await holder;

            using (await cond.LockAsync()) Assert.Throws<ArgumentOutOfRangeException>(() => cond.Notify(-1));
            Assert.Throws<ArgumentNullException>(() => new AsyncCondition().WaitForAsync(null!));
        });
    }

    [Fact]
    public void KilledWaiter_ThrowsOnlyOnceItHoldsTheLockAgain()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var cond = new AsyncCondition(rl);
            var log = new List<string>();
            var waiter = Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    try { await cond.WaitAsync(); }
                    catch (TaskletExit) { log.Add($"killed, owner is me: {rl.Owner == Tasklet.Current}"); throw; }
                }
            });
            await Tasklet.Yield();
            await rl.AcquireAsync();
            waiter.Kill();
            await Tasklet.WaitAllParkedAsync();
            Assert.Empty(log);                   // still waiting for the lock
            Assert.True(waiter.IsAlive);
            Assert.Equal(0, cond.WaitingCount);
            Assert.Equal(1, rl.WaitingCount);
            rl.Release();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.Equal(["killed, owner is me: True"], log);
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void ExpiredScope_DuringTheWait_ThrowsOnlyOnceTheLockIsHeldAgain()
    {
        Run(async () =>
        {
            var lk = new AsyncLock();
            var cond = new AsyncCondition(lk);
            var log = new List<string>();
            var waiter = Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    try
                    {
                        // Long enough that the waiter is surely parked when the test looks (a 1 ms
                        // scope expired before the check on a loaded CI machine).
                        using (CancelScope.FailAfter(Ms(100))) await cond.WaitAsync();
                    }
                    catch (TimeoutException) { log.Add($"timed out, locked: {lk.IsLocked}"); }
                }
            });
            await Tasklet.Yield();
            Assert.Equal(1, cond.WaitingCount);
            await lk.AcquireAsync();
            var other = Tasklet.Spawn(async () => { using (await lk.LockAsync()) log.Add("other"); });
            await Tasklet.Sleep(Ms(250)); // the scope expires meanwhile: the waiter queues for the lock, behind other
            var before = log.ToList();
            int queued = lk.WaitingCount;
            lk.Release();
            await waiter;
            await other;
            Assert.Empty(before);
            Assert.Equal(2, queued);
            Assert.Equal(["other", "timed out, locked: True"], log);
            Assert.False(lk.IsLocked);
        });
    }

    [Fact]
    public void NotifiedWaiter_KilledBeforeItReturns_PassesTheNotificationOn()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            var log = new List<string>();
            Tasklet Waiter(string name) => Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    await cond.WaitAsync();
                    log.Add(name);
                }
            }, name);
            var a = Waiter("a");
            var b = Waiter("b");
            await Tasklet.Yield();
            var rl = (AsyncRLock)cond.Lock;
            await cond.AcquireAsync();
            cond.Notify();   // a is notified ...
            a.Kill();        // ... then killed while it waits for the lock we hold
            await Tasklet.WaitAllParkedAsync(); // a queues for the lock
            Assert.Equal(1, cond.WaitingCount); // b
            cond.Release();
            await a.JoinAsync();
            await b;
            Assert.Equal(TaskletState.Killed, a.State);
            Assert.Equal(["b"], log);
        });
    }

    [Fact]
    public void PendingKill_AbortsTheWaitAtOnce_AndTheLockIsStillHeldWhenItThrows()
    {
        Run(async () =>
        {
            var rl = new AsyncRLock();
            var cond = new AsyncCondition(rl);
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                using (await cond.LockAsync())
                {
                    Tasklet.Current!.Kill(); // not parked: lands at the wait
                    try { await cond.WaitAsync(); }
                    catch (TaskletExit) { log.Add($"owner {rl.Owner == Tasklet.Current} x{rl.RecursionCount}"); throw; }
                }
            });
            await t.JoinAsync();
            Assert.Equal(["owner True x1"], log);
            Assert.Equal(0, cond.WaitingCount);
            Assert.False(rl.IsLocked);
        });
    }

    [Fact]
    public void NotifiedWaiter_KilledBeforeItRuns_WithTheLockFree_KeepsItsWakeup()
    {
        // trio's rule: the notify stands; the wait returns true and the kill lands at the next park.
        Run(async () =>
        {
            var cond = new AsyncCondition();
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync()) log.Add($"notified: {await cond.WaitAsync()}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            using (await cond.LockAsync()) cond.Notify();
            t.Kill();
            await t.JoinAsync();
            Assert.Equal(["notified: True", "killed at the next park"], log);
        });
    }

    [Fact]
    public void WaitFor_ReturnsThePredicatesLastValue()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            int state = 0, calls = 0;
            var waiter = Tasklet.Spawn(async () =>
            {
                using (await cond.LockAsync())
                {
                    Assert.True(await cond.WaitForAsync(() => { calls++; return state == 2; }));
                    Assert.Equal(2, state);
                }
            });
            await Tasklet.Yield();
            for (int i = 1; i <= 2; i++)
            {
                using (await cond.LockAsync())
                {
                    state = i;
                    cond.NotifyAll();
                }
                await Tasklet.Yield();
            }
            await waiter;
            Assert.Equal(3, calls);

            using (await cond.LockAsync())
            {
                var vt = cond.WaitForAsync(() => true);
                Assert.True(vt.IsCompletedSuccessfully); // true at once: not a yield point
                Assert.False(await cond.WaitForAsync(() => false, Ms(3)));
                Assert.False(await cond.WaitForAsync(() => false, TimeSpan.Zero));
                Assert.Equal(0, cond.WaitingCount);
            }
        });
    }

    [Fact]
    public void ProducerConsumer_EveryItemConsumedOnce_InOrder()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            var items = new Queue<int>();
            var got = new List<int>();
            bool done = false;
            var consumers = Enumerable.Range(0, 3).Select(_ => Tasklet.Spawn(async () =>
            {
                while (true)
                {
                    using (await cond.LockAsync())
                    {
                        await cond.WaitForAsync(() => items.Count > 0 || done);
                        if (items.Count == 0) return;
                        got.Add(items.Dequeue());
                    }
                    await Tasklet.Yield();
                }
            })).ToList();
            for (int i = 0; i < 50; i++)
            {
                using (await cond.LockAsync())
                {
                    items.Enqueue(i);
                    cond.Notify();
                }
                if (i % 7 == 0) await Tasklet.Yield();
            }
            using (await cond.LockAsync())
            {
                done = true;
                cond.NotifyAll();
            }
            foreach (var c in consumers) await c;
            Assert.Equal(Enumerable.Range(0, 50), got);
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var cond = new AsyncCondition();
            using (await cond.LockAsync())
            {
                var e = OtherThread.Call(() => cond.Notify());
                Assert.Contains("loop's own thread", e!.Message);
            }
        });
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, true)]
    [InlineData(42, false)]
    [InlineData(2024, true)]
    public void Random_KillsAndTimeouts_LoseNoItem_AndAlwaysReturnWithTheLock(int seed, bool plainLock)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            ILockForCondition lk = plainLock ? new AsyncLock() : new AsyncRLock();
            var cond = new AsyncCondition(lk);
            var items = new Queue<int>();
            var taken = new HashSet<int>();
            int produced = 0;
            bool stop = false;

            void AssertHeld(string where)
            {
                bool held = lk is AsyncRLock r ? r.Owner == Tasklet.Current : ((AsyncLock)lk).IsLocked;
                Assert.True(held, $"seed {seed}: {where} without the lock: {lk}");
            }

            async Task Consumer()
            {
                while (!stop)
                {
                    using (await cond.LockAsync())
                    {
                        if (stop) break;
                        try
                        {
                            int pick = rng.Next(3);
                            TimeSpan? timeout = pick == 0 ? null : pick == 1 ? TimeSpan.Zero : Ms(1);
                            bool ready = rng.Next(2) == 0
                                ? await cond.WaitForAsync(() => items.Count > 0 || stop, timeout)
                                : await cond.WaitAsync(timeout) && items.Count > 0;
                            AssertHeld("a wait returned");
                            if (ready && items.Count > 0)
                            {
                                Assert.True(taken.Add(items.Dequeue()), $"seed {seed}: an item taken twice");
                            }
                        }
                        catch (Exception e) when (e is TaskletExit or TimeoutException)
                        {
                            AssertHeld("a wait threw");
                            throw;
                        }
                    }
                    await Tasklet.Yield();
                }
            }

            var consumers = Enumerable.Range(0, 4).Select(i => Tasklet.Spawn(Consumer, $"c{i}")).ToList();
            for (int step = 0; step < 2000; step++)
            {
                int r = rng.Next(20);
                if (r == 0)
                {
                    int k = rng.Next(consumers.Count);
                    consumers[k].Kill();
                    await consumers[k].JoinAsync();
                    consumers[k] = Tasklet.Spawn(Consumer, $"c{k}'");
                }
                else if (r < 8)
                {
                    using (await cond.LockAsync())
                    {
                        items.Enqueue(produced++);
                        if (rng.Next(4) == 0) cond.NotifyAll(); else cond.Notify(rng.Next(1, 3));
                    }
                }
                else
                {
                    await Tasklet.Yield();
                }
                Assert.True(taken.Count + items.Count == produced, $"seed {seed}: step {step}: {taken.Count} taken + {items.Count} queued != {produced}");
                Assert.True(!lk.TryAcquire() || Release(lk), $"seed {seed}: step {step}");
            }
            using (await cond.LockAsync())
            {
                stop = true;
                cond.NotifyAll();
            }
            foreach (var c in consumers) await c.JoinAsync();
            foreach (var c in consumers) Assert.True(c.State is TaskletState.Completed, $"seed {seed}: {c} {c.Exception}");
            Assert.Equal(produced, taken.Count + items.Count);
            Assert.True(taken.Count > 100, $"seed {seed}: only {taken.Count} taken");
            Assert.Equal(0, cond.WaitingCount);
            Assert.True(lk.TryAcquire(), $"seed {seed}: left locked: {lk}");
            lk.Release();
        });

        static bool Release(ILockForCondition lk)
        {
            lk.Release();
            return true;
        }
    }
}
