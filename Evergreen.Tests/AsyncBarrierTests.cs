using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncBarrier: Evergreen's Barrier (Python's threading.Barrier) on the core park.</summary>
public class AsyncBarrierTests
{
    /// <summary>A party that arrives and hands back its index or its exception (so a broken wait is not an unhandled failure).</summary>
    private static Tasklet<object> Arrive(AsyncBarrier barrier, TimeSpan? timeout = null) => Tasklet.Spawn<object>(async () =>
    {
        try { return await barrier.WaitAsync(timeout); }
        catch (BrokenBarrierException e) { return e; }
    });

    [Fact]
    public void WaitAsync_ReleasesEveryPartyTogether_WithDistinctIndicesInArrivalOrder()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var woke = new List<(string Name, int Index)>();
            var a = Tasklet.Spawn(async () => woke.Add(("a", await barrier.WaitAsync())));
            var b = Tasklet.Spawn(async () => woke.Add(("b", await barrier.WaitAsync())));
            await Tasklet.Yield();
            Assert.Equal(2, barrier.WaitingCount);
            Assert.Equal(TaskletState.Parked, a.State);
            Assert.Empty(woke);

            var last = barrier.WaitAsync();
            Assert.True(last.IsCompletedSuccessfully); // the last party does not park
            Assert.Equal(2, await last);
            Assert.Equal(0, barrier.WaitingCount);
            await a;
            await b;
            Assert.Equal([("a", 0), ("b", 1)], woke); // woken first come first served
        });
    }

    [Fact]
    public void Action_RunsOnce_InTheLastTasklet_BeforeTheOthersAreReleased()
    {
        Run(async () =>
        {
            var log = new List<string>();
            AsyncBarrier barrier = null!;
            barrier = new AsyncBarrier(3, () => log.Add($"action in {Tasklet.Current!.Name}, {barrier.WaitingCount} waiting"));
            var parties = new[] { "p0", "p1", "p2" }.Select(name => Tasklet.Spawn(async () =>
            {
                int index = await barrier.WaitAsync();
                log.Add($"{name} got {index}");
            }, name)).ToList();
            foreach (var p in parties) await p;
            Assert.Equal(["action in p2, 2 waiting", "p2 got 2", "p0 got 0", "p1 got 1"], log);
        });
    }

    [Fact]
    public void Barrier_IsReusable_AcrossGenerations()
    {
        Run(async () =>
        {
            int actions = 0;
            var barrier = new AsyncBarrier(3, () => actions++);
            var indices = new List<int>[3];
            var parties = Enumerable.Range(0, 3).Select(p => Tasklet.Spawn(async () =>
            {
                indices[p] = [];
                for (int round = 0; round < 4; round++) indices[p].Add(await barrier.WaitAsync());
            })).ToList();
            foreach (var p in parties) await p;
            Assert.Equal(4, actions);
            for (int round = 0; round < 4; round++)
            {
                Assert.Equal([0, 1, 2], indices.Select(list => list[round]).Order());
            }
            Assert.False(barrier.IsBroken);
        });
    }

    [Fact]
    public void OneParty_PassesAtOnce_AndRunsTheActionEachTime()
    {
        Run(async () =>
        {
            int actions = 0;
            var barrier = new AsyncBarrier(1, () => actions++);
            Assert.Equal(0, await barrier.WaitAsync());
            Assert.Equal(0, await barrier.WaitAsync());
            Assert.Equal(2, actions);
            Assert.Equal(1, barrier.Parties);
        });
    }

    [Fact]
    public void ActionThatThrows_BreaksTheBarrier_AndPropagatesFromTheLastParty()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3, () => throw new InvalidDataException("bad round"));
            var others = Enumerable.Range(0, 2).Select(_ => Arrive(barrier)).ToList();
            await Tasklet.Yield();
            var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await barrier.WaitAsync());
            Assert.Equal("bad round", e.Message);
            Assert.True(barrier.IsBroken);
            foreach (var t in others)
            {
                var broken = Assert.IsType<BrokenBarrierException>(await t);
                Assert.IsType<InvalidDataException>(broken.InnerException);
                Assert.Contains("action threw", broken.Message);
            }
        });
    }

    [Fact]
    public void Reset_BreaksTheCurrentWaiters_ThenTheBarrierIsUsableAgain()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            var waiter = Arrive(barrier);
            await Tasklet.Yield();
            barrier.Reset();
            var e = Assert.IsType<BrokenBarrierException>(await waiter);
            Assert.Contains("reset", e.Message);
            Assert.False(barrier.IsBroken);
            Assert.Equal(0, barrier.WaitingCount);

            var again = Tasklet.Spawn(async () => await barrier.WaitAsync());
            await Tasklet.Yield();
            Assert.Equal(1, await barrier.WaitAsync());
            Assert.Equal(0, await again);
        });
    }

    [Fact]
    public void Abort_BreaksTheBarrier_ForWaitersAndLaterCalls_UntilReset()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var waiter = Arrive(barrier);
            await Tasklet.Yield();
            barrier.Abort();
            Assert.True(barrier.IsBroken);
            Assert.Equal(0, barrier.WaitingCount);
            Assert.IsType<BrokenBarrierException>(await waiter);
            var later = barrier.WaitAsync();
            Assert.True(later.IsFaulted); // fails at once: not a yield point
            var e = await Assert.ThrowsAsync<BrokenBarrierException>(async () => await later);
            Assert.Contains("aborted", e.Message);
            Assert.Contains("broken", barrier.ToString());

            barrier.Reset();
            Assert.False(barrier.IsBroken);
            var a = Tasklet.Spawn(async () => await barrier.WaitAsync());
            var b = Tasklet.Spawn(async () => await barrier.WaitAsync());
            await Tasklet.Yield();
            Assert.Equal(2, await barrier.WaitAsync());
            Assert.Equal(0, await a);
            Assert.Equal(1, await b);
        });
    }

    [Fact]
    public void Timeout_OfOneWaiter_ThrowsTimeoutExceptionToIt_AndBreaksTheBarrierForAll()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var patient = Arrive(barrier);
            await Tasklet.Yield();
            // The timeout rule: the party whose own timeout passed gets a TimeoutException, which
            // says it broke the barrier; the others get BrokenBarrierException.
            var e = await Assert.ThrowsAsync<TimeoutException>(async () => await barrier.WaitAsync(Ms(3)));
            Assert.Contains("AsyncBarrier #", e.Message);
            Assert.Contains("timed out after 3 ms", e.Message);
            Assert.Contains("broke the barrier", e.Message);
            Assert.True(barrier.IsBroken);
            var other = Assert.IsType<BrokenBarrierException>(await patient);
            Assert.Contains("stopped waiting", other.Message);
            // A party arriving after the leaver is not counted with it: the barrier stays broken.
            await Assert.ThrowsAsync<BrokenBarrierException>(async () => await barrier.WaitAsync());
            await Assert.ThrowsAsync<BrokenBarrierException>(async () => await barrier.WaitAsync(TimeSpan.Zero));
        });
    }

    [Fact]
    public void ZeroTimeout_OfANonLastParty_BreaksTheBarrier()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            await Assert.ThrowsAsync<TimeoutException>(async () => await barrier.WaitAsync(TimeSpan.Zero));
            Assert.True(barrier.IsBroken);
        });
    }

    [Fact]
    public void Kill_OfOneWaiter_BreaksTheBarrierForAll_AndTheVictimGetsTaskletExit()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var victim = Arrive(barrier);
            var other = Arrive(barrier);
            await Tasklet.Yield();
            Assert.Equal(barrier.ToString(), victim.ParkOwner?.ToString()); // its owner is its pooled waiter, which names the barrier
            victim.Kill();
            Assert.True(barrier.IsBroken);
            Assert.Equal(0, barrier.WaitingCount);
            await victim.JoinAsync();
            Assert.Equal(TaskletState.Killed, victim.State);
            var e = Assert.IsType<BrokenBarrierException>(await other);
            Assert.Contains(victim.Describe(), e.Message);
        });
    }

    [Fact]
    public void PendingKill_AbortsTheParkAtOnce_AndBreaksTheBarrier()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var other = Arrive(barrier);
            await Tasklet.Yield();
            var victim = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                Tasklet.Current!.Kill(); // pending: lands at the next park
                await barrier.WaitAsync();
            });
            await victim.JoinAsync();
            Assert.Equal(TaskletState.Killed, victim.State);
            Assert.True(barrier.IsBroken);
            Assert.IsType<BrokenBarrierException>(await other);
        });
    }

    [Fact]
    public void ExpiredCancelScope_ThrowsTimeoutException_AndBreaksTheBarrier()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(3))) await barrier.WaitAsync();
            });
            Assert.True(barrier.IsBroken);
            Assert.Equal(0, barrier.WaitingCount);
        });
    }

    [Fact]
    public void ReleasedWaiter_KilledBeforeItRuns_StillGetsItsIndex_AndTheKillLandsAtTheNextPark()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            var log = new List<string>();
            var waiter = Tasklet.Spawn(async () =>
            {
                log.Add($"index {await barrier.WaitAsync()}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            Assert.Equal(1, await barrier.WaitAsync());
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(["index 0", "killed at the next park"], log);
            Assert.False(barrier.IsBroken);
        });
    }

    [Fact]
    public void Misuse_IsRefused_WithTheRule()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncBarrier(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncBarrier(-3));
            var barrier = new AsyncBarrier(2);
            Assert.Throws<ArgumentOutOfRangeException>(() => barrier.WaitAsync(Ms(-5)));
            Assert.Equal(0, barrier.WaitingCount);

            InvalidOperationException? inAction = null;
            AsyncBarrier selfWaiting = null!;
            selfWaiting = new AsyncBarrier(1, () => inAction = Assert.Throws<InvalidOperationException>(() => selfWaiting.WaitAsync()));
            Assert.Equal(0, await selfWaiting.WaitAsync());
            Assert.Contains("action cannot wait", inAction!.Message);
            Assert.False(selfWaiting.IsBroken);
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void ActionThatResetsTheBarrier_FailsTheLastParty_AndLeavesTheBarrierUsable()
    {
        Run(async () =>
        {
            AsyncBarrier barrier = null!;
            barrier = new AsyncBarrier(2, () => barrier.Reset());
            var first = Arrive(barrier);
            await Tasklet.Yield();
            await Assert.ThrowsAsync<BrokenBarrierException>(async () => await barrier.WaitAsync());
            Assert.IsType<BrokenBarrierException>(await first);
            Assert.False(barrier.IsBroken);
            Assert.Equal(0, barrier.WaitingCount);
        });
    }

    [Fact]
    public void WaitAsync_OutsideATasklet_IsRefusedWhenItWouldPark()
    {
        Run(async loop =>
        {
            var barrier = new AsyncBarrier(2);
            Exception? error = null;
            loop.CallSoon(() =>
            {
                try { barrier.WaitAsync(); } catch (Exception e) { error = e; }
            });
            await Tasklet.Sleep(Ms(1));
            Assert.IsType<InvalidOperationException>(error);
            Assert.Equal(0, barrier.WaitingCount);
            Assert.False(barrier.IsBroken);
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            _ = barrier.IsBroken; // binds it to this loop
            var errors = OtherThread.CallEach(barrier.Reset, barrier.Abort, () => _ = barrier.WaitingCount, () => barrier.WaitAsync()).OfType<Exception>().ToList();
            Assert.Equal(4, errors.Count);
            Assert.All(errors, e => Assert.Contains("loop's own thread", Assert.IsType<InvalidOperationException>(e).Message));
            Assert.False(barrier.IsBroken);
            await Tasklet.Yield();
        });
    }

    [Fact]
    public void ToString_SaysHowManyWait_AndIsWhatAWaiterWaitsOn()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(3);
            var waiter = Arrive(barrier);
            await Tasklet.Yield();
            Assert.Matches(@"^AsyncBarrier #\d+ \(1 of 3 waiting\)$", barrier.ToString());
            Assert.Equal(barrier.ToString(), waiter.WaitingOn);
            barrier.Abort();
            Assert.Matches(@"^AsyncBarrier #\d+ \(broken, 3 parties\)$", barrier.ToString());
            Assert.IsType<BrokenBarrierException>(await waiter);
        });
    }

    [Fact]
    public void WaitAsync_CanBeAwaitedAsATaskOrWithoutContext_AndOnlyOnce()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            var viaTask = Tasklet.Spawn(async () => await barrier.WaitAsync().AsTask());
            await Tasklet.Yield();
            Assert.Equal(1, await barrier.WaitAsync());
            Assert.Equal(0, await viaTask);

            var withoutContext = Tasklet.Spawn(async () => await barrier.WaitAsync().ConfigureAwait(false));
            await Tasklet.Yield();
            Assert.Equal(1, await barrier.WaitAsync());
            Assert.Equal(0, await withoutContext);

            ValueTask<int> awaited = default;
            var twice = Tasklet.Spawn(async () =>
            {
                awaited = barrier.WaitAsync();
                return await awaited;
            });
            await Tasklet.Yield();
            Assert.Equal(1, await barrier.WaitAsync());
            Assert.Equal(0, await twice);
            var e = Assert.Throws<InvalidOperationException>(() => awaited.GetAwaiter().GetResult());
            Assert.Contains("exactly once", e.Message);
        });
    }

    [Fact]
    public void SteadyState_Rounds_AllocateNothingPerOperation()
    {
        Run(async () =>
        {
            var barrier = new AsyncBarrier(2);
            const int rounds = 2000;
            var partner = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 2 * rounds; i++) await barrier.WaitAsync();
            });
            async Task Rounds(int n)
            {
                for (int i = 0; i < n; i++)
                {
                    await Tasklet.Yield();
                    await barrier.WaitAsync();
                }
            }
            await Rounds(rounds); // warm up (and fill the builder's pool)
            long before = GC.GetAllocatedBytesForCurrentThread();
            await Rounds(rounds);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await partner;
            Assert.True(allocated < rounds, $"{allocated} bytes allocated over {rounds} rounds of park and release");
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(20260)]
    public void RandomOperations_KeepTheBarriersInvariants(int seed)
    {
        // Workers loop on WaitAsync with random timeouts while the driver kills, resets, aborts
        // and yields at random. Each successful wait records the number of completed releases it
        // saw on arrival: the parties released together saw the same number, so each such group
        // must hold exactly the indices 0..parties-1, and there must be one group per release.
        Run(async () =>
        {
            var rng = new Random(seed);
            int parties = rng.Next(2, 5);
            int releases = 0, actionThrows = 0;
            var barrier = new AsyncBarrier(parties, () =>
            {
                if (rng.Next(25) == 0) { actionThrows++; throw new InvalidDataException("the action failed"); }
                releases++;
            });
            var passed = new List<(int Round, int Index)>();
            var workers = new List<Tasklet>();
            bool stopping = false;
            int step = 0;

            void Check(bool condition, string what)
            {
                if (!condition) Assert.Fail($"seed {seed}, parties {parties}, step {step}: {what} ({barrier})");
            }

            Tasklet SpawnWorker() => Tasklet.Spawn(async () =>
            {
                while (!stopping)
                {
                    // Mostly wait out a broken barrier (each failed call is an exception: slow to throw).
                    while (barrier.IsBroken && !stopping && rng.Next(10) != 0) await Tasklet.Yield();
                    int round = releases;
                    TimeSpan? timeout = rng.Next(6) switch { 0 => TimeSpan.Zero, 1 or 2 => Ms(rng.Next(1, 4)), _ => null };
                    try
                    {
                        int index = await barrier.WaitAsync(timeout);
                        Check(index >= 0 && index < parties, $"index {index} out of range");
                        passed.Add((round, index));
                    }
                    catch (BrokenBarrierException) { }
                    catch (TimeoutException) { } // its own timeout: it broke the barrier
                    catch (InvalidDataException) { }
                    if (rng.Next(3) == 0) await Tasklet.Yield();
                }
            });

            for (; step < 3000; step++)
            {
                workers.RemoveAll(w => !w.IsAlive);
                int op = rng.Next(100);
                if (op < 15 && workers.Count < parties + 2)
                {
                    workers.Add(SpawnWorker());
                }
                else if (op < 20 && workers.Count > 0)
                {
                    workers[rng.Next(workers.Count)].Kill();
                }
                else if (op < 23)
                {
                    barrier.Reset();
                }
                else if (op < 25)
                {
                    barrier.Abort();
                }
                else if (op < 40 && barrier.IsBroken)
                {
                    barrier.Reset();
                }
                else if (op < 43)
                {
                    await Tasklet.Sleep(Ms(1));
                }
                else
                {
                    await Tasklet.Yield();
                }

                int parked = workers.Count(w => w.IsParked && w.ParkOwner?.ToString() == barrier.ToString());
                Check(barrier.WaitingCount < parties, "a full round is still waiting");
                Check(parked == barrier.WaitingCount, $"{parked} workers parked on the barrier but WaitingCount is {barrier.WaitingCount}");
                Check(!barrier.IsBroken || barrier.WaitingCount == 0, "a broken barrier has waiters");
            }

            stopping = true;
            barrier.Abort();
            foreach (var w in workers) await w.JoinAsync();
            var groups = passed.GroupBy(p => p.Round).ToList();
            Check(groups.Count == releases, $"{groups.Count} groups of released parties for {releases} releases");
            foreach (var g in groups)
            {
                Check(g.Select(p => p.Index).Order().SequenceEqual(Enumerable.Range(0, parties)),
                    $"round after {g.Key} releases passed with indices [{string.Join(", ", g.Select(p => p.Index))}]");
            }
            Check(releases > 10, $"only {releases} releases: the test exercised too little");
        });
    }
}
