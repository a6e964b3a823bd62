using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>
/// AsyncQueue (FIFO) and the waiting logic every queue shares: the theories run over the three
/// kinds ("fifo", "lifo", "priority"); the ordering of each kind has its own file.
/// </summary>
public class AsyncQueueTests
{
    internal static AsyncQueueBase<int> Make(string kind, int maxSize = 0) => kind switch
    {
        "fifo" => new AsyncQueue<int>(maxSize),
        "lifo" => new AsyncLifoQueue<int>(maxSize),
        "priority" => new AsyncPriorityQueue<int>(maxSize),
        _ => throw new ArgumentException(kind),
    };

    [Fact]
    public void PutThenGet_ComeOutInPutOrder()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            foreach (var i in new[] { 3, 1, 2 }) await q.PutAsync(i);
            Assert.Equal(3, q.Count);
            Assert.Equal(new[] { 3, 1, 2 }, new[] { await q.GetAsync(), await q.GetAsync(), await q.GetAsync() });
            Assert.True(q.IsEmpty);
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void MaxSize_Bounds_CountIsFullAndTryPut(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind, 2);
            Assert.Equal(2, q.MaxSize);
            Assert.True(q.IsEmpty);
            Assert.False(q.IsFull);
            Assert.True(q.TryPut(1));
            await q.PutAsync(2);
            Assert.True(q.IsFull);
            Assert.False(q.IsEmpty);
            Assert.False(q.TryPut(3));
            Assert.Equal(2, q.Count);
            Assert.Equal(2, q.UnfinishedTasks);
        });
    }

    [Theory, InlineData(0), InlineData(-1)]
    public void MaxSize_ZeroOrNegative_IsUnbounded(int maxSize)
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>(maxSize);
            Assert.Equal(0, q.MaxSize);
            for (int i = 0; i < 1000; i++) await q.PutAsync(i);
            Assert.False(q.IsFull);
            Assert.Equal(1000, q.Count);
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void TryGet_OnEmpty_ReturnsFalse_AndTryPutTryGet_NeverPark(string kind)
    {
        Run(() =>
        {
            var q = Make(kind, 1);
            Assert.False(q.TryGet(out var none));
            Assert.Equal(0, none);
            Assert.True(q.TryPut(7));
            Assert.False(q.TryPut(8));
            Assert.True(q.TryGet(out var got));
            Assert.Equal(7, got);
            return Task.CompletedTask;
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void GetAsync_WhenEmpty_Parks_AndEachPutIsHandedToTheFirstGetter(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind);
            var getters = Enumerable.Range(0, 3).Select(_ => Tasklet.Spawn(() => q.GetAsync().AsTask())).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, q.WaitingGetters);
            Assert.All(getters, g => Assert.Equal(TaskletState.Parked, g.State));
            Assert.Contains("to get an item", getters[0].WaitingOn);
            foreach (var i in new[] { 30, 10, 20 }) Assert.True(q.TryPut(i));
            Assert.Equal(0, q.Count); // handed over, not queued
            Assert.Equal(0, q.WaitingGetters);
            Assert.False(q.TryGet(out _)); // a newcomer cannot take a handed item
            Assert.Equal(3, q.UnfinishedTasks);
            Assert.Equal(new[] { 30, 10, 20 }, new[] { await getters[0], await getters[1], await getters[2] });
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void PutAsync_WhenFull_Parks_AndPuttersAreMovedInFifoOrder(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind, 1);
            await q.PutAsync(0);
            var order = new List<int>();
            var putters = Enumerable.Range(1, 3).Select(i => Tasklet.Spawn(async () => { await q.PutAsync(i); order.Add(i); })).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, q.WaitingPutters);
            Assert.Contains("to have room for an item", putters[0].WaitingOn);
            Assert.Equal(1, q.UnfinishedTasks);
            var got = new List<int>();
            for (int i = 0; i < 4; i++)
            {
                got.Add(await q.GetAsync());
                Assert.True(q.Count <= 1);
            }
            Assert.Equal([0, 1, 2, 3], got);
            foreach (var p in putters) await p;
            Assert.Equal([1, 2, 3], order);
            Assert.Equal(4, q.UnfinishedTasks);
        });
    }

    [Fact]
    public void ProducersAndConsumers_EveryItemIsGotOnce_AndJoinWaitsForTaskDone()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>(3);
            var got = new List<int>();
            var producers = Enumerable.Range(0, 3).Select(p => Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 50; i++) await q.PutAsync(p * 1000 + i);
            }, $"producer {p}")).ToList();
            var consumers = Enumerable.Range(0, 2).Select(c => Tasklet.Spawn(async () =>
            {
                while (true)
                {
                    int item = await q.GetAsync();
                    await Tasklet.Yield(); // "work"
                    got.Add(item);
                    q.TaskDone();
                }
            }, $"consumer {c}")).ToList();
            foreach (var p in producers) await p;
            await q.JoinAsync();
            Assert.Equal(150, got.Count);
            Assert.Equal(Enumerable.Range(0, 3).SelectMany(p => Enumerable.Range(p * 1000, 50)).Order(), got.Order());
            for (int p = 0; p < 3; p++) Assert.Equal(Enumerable.Range(p * 1000, 50), got.Where(x => x / 1000 == p)); // FIFO per producer
            foreach (var c in consumers) c.Kill();
            foreach (var c in consumers) await c.JoinAsync();
            Assert.Equal(0, q.WaitingGetters);
        });
    }

    [Fact]
    public void JoinAsync_ReturnsAtOnceWhenNothingIsUnfinished_AndTaskDoneTooOftenIsRefused()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<string>();
            Assert.True(q.JoinAsync().IsCompletedSuccessfully);
            await q.PutAsync("a");
            await q.PutAsync("b");
            Assert.Equal(2, q.UnfinishedTasks);
            var joiner = Tasklet.Spawn(async () => await q.JoinAsync());
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, joiner.State);
            Assert.Contains("unfinished items", joiner.WaitingOn);
            q.TryGet(out _);
            q.TaskDone();
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, joiner.State);
            q.TaskDone();
            await joiner;
            Assert.Equal(0, q.UnfinishedTasks);
            var e = Assert.Throws<InvalidOperationException>(q.TaskDone);
            Assert.Contains("more times than items were put", e.Message);
            Assert.Equal(0, q.UnfinishedTasks);
            Assert.True(q.JoinAsync().IsCompletedSuccessfully);
        });
    }

    [Fact]
    public void JoinAsync_TimesOutOrIsKilled_AndLeavesNoJoinerBehind()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            await q.PutAsync(1);
            Assert.False(await CancelScope.MoveOnAfterAsync(Ms(2), async () => await q.JoinAsync()));
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await q.JoinAsync();
            });
            var joiner = Tasklet.Spawn(async () => await q.JoinAsync());
            await Tasklet.Yield();
            var second = Tasklet.Spawn(async () => await q.JoinAsync());
            await Tasklet.Yield();
            joiner.Kill();
            await joiner.JoinAsync();
            Assert.Equal(TaskletState.Killed, joiner.State);
            Assert.Equal(1, q.UnfinishedTasks);
            q.TaskDone();
            await second;
            await q.JoinAsync();
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void GetAsync_TimesOut_WithQueueEmpty_AndTakesNothing(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind);
            var e = await Assert.ThrowsAsync<QueueEmptyException>(async () => await q.GetAsync(Ms(2)));
            Assert.Contains("#", e.Message);
            Assert.Contains("2 ms", e.Message);
            Assert.Equal(Ms(2), e.Timeout);
            await Assert.ThrowsAsync<QueueEmptyException>(async () => await q.GetAsync(TimeSpan.Zero));
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await q.GetAsync();
            });
            Assert.Equal(0, q.WaitingGetters);
            await q.PutAsync(5);
            Assert.Equal(1, q.Count); // no ghost getter took it
            Assert.Equal(5, await q.GetAsync(TimeSpan.Zero));
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void QueueTimeouts_AreTimeoutExceptions_ByTheOneTimeoutRule(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind, 1);
            TimeoutException empty = await Assert.ThrowsAnyAsync<TimeoutException>(async () => await q.GetAsync(Ms(1)));
            Assert.IsType<QueueEmptyException>(empty);
            await q.PutAsync(1);
            TimeoutException full = await Assert.ThrowsAnyAsync<TimeoutException>(async () => await q.PutAsync(2, Ms(1)));
            Assert.IsType<QueueFullException>(full);
            Assert.Equal(1, await q.GetAsync());
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void PutAsync_TimesOut_WithQueueFull_AndPutsNothing(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind, 1);
            await q.PutAsync(1);
            var e = await Assert.ThrowsAsync<QueueFullException>(async () => await q.PutAsync(2, Ms(2)));
            Assert.Contains("stayed full", e.Message);
            Assert.Contains("2 ms", e.Message);
            await Assert.ThrowsAsync<QueueFullException>(async () => await q.PutAsync(3, TimeSpan.Zero));
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await q.PutAsync(4);
            });
            Assert.Equal(0, q.WaitingPutters);
            Assert.Equal(1, q.UnfinishedTasks);
            Assert.Equal(1, await q.GetAsync());
            Assert.True(q.IsEmpty); // nothing was moved in behind the get
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void KilledGetter_TakesNoItem_AndTheNextGetterIsServed(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind);
            var first = Tasklet.Spawn(() => q.GetAsync().AsTask());
            var second = Tasklet.Spawn(() => q.GetAsync().AsTask());
            await Tasklet.Yield();
            first.Kill();
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
            Assert.Equal(1, q.WaitingGetters);
            await q.PutAsync(9);
            Assert.Equal(9, await second);
            await q.PutAsync(10);
            Assert.Equal(1, q.Count);
        });
    }

    [Theory, InlineData("fifo"), InlineData("lifo"), InlineData("priority")]
    public void KilledPutter_PutsNothing_AndTheNextPutterIsMovedIn(string kind)
    {
        Run(async () =>
        {
            var q = Make(kind, 1);
            await q.PutAsync(1);
            var first = Tasklet.Spawn(() => q.PutAsync(2).AsTask());
            var second = Tasklet.Spawn(() => q.PutAsync(3).AsTask());
            await Tasklet.Yield();
            first.Kill();
            await first.JoinAsync();
            Assert.Equal(1, q.WaitingPutters);
            Assert.Equal(1, await q.GetAsync());
            await second;
            Assert.Equal(3, await q.GetAsync());
            Assert.True(q.IsEmpty);
            Assert.Equal(2, q.UnfinishedTasks);
        });
    }

    [Fact]
    public void GetterHandedAnItem_ThenKilledBeforeItRuns_StillReturnsIt_AndTheKillLandsAtItsNextPark()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            var log = new List<string>();
            var getter = Tasklet.Spawn(async () =>
            {
                log.Add($"got {await q.GetAsync()}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            q.TryPut(42);
            getter.Kill();
            await getter.JoinAsync();
            Assert.Equal(["got 42", "killed at the next park"], log);
            Assert.True(q.IsEmpty);
        });
    }

    [Fact]
    public void PutterMovedIn_ThenKilledBeforeItRuns_StillReturns_AndItsItemStaysQueued()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>(1);
            await q.PutAsync(1);
            var log = new List<string>();
            var putter = Tasklet.Spawn(async () =>
            {
                await q.PutAsync(2);
                log.Add("put");
                await Tasklet.Yield();
                log.Add("not reached");
            });
            await Tasklet.Yield();
            Assert.True(q.TryGet(out var first));
            Assert.Equal(1, first);
            putter.Kill();
            await putter.JoinAsync();
            Assert.Equal(["put"], log);
            Assert.Equal(2, await q.GetAsync(TimeSpan.Zero));
        });
    }

    [Fact]
    public void BadArgumentsAndMisuse_AreRefused()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>(1);
            Assert.Throws<ArgumentOutOfRangeException>(() => q.PutAsync(1, Ms(-5)));
            Assert.Throws<ArgumentOutOfRangeException>(() => q.GetAsync(Ms(-5)));
            Assert.True(q.IsEmpty); // the refused put put nothing
            await q.PutAsync(1, Timeout.InfiniteTimeSpan);
            Assert.Equal(1, await q.GetAsync(Timeout.InfiniteTimeSpan));
        });
    }

    [Fact]
    public void AWaiterWokenByTaskletUnpark_AbandonsItsWait_AndTheQueueStaysWhole()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            var getter = Tasklet.Spawn(() => q.GetAsync().AsTask());
            await Tasklet.Yield();
            getter.Unpark(); // not the queue's doing
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await getter);
            Assert.Contains("by something other than the operation", e.Message); // the one base's message
            Assert.Equal(0, q.WaitingGetters);
            q.TryPut(1);
            Assert.Equal(1, q.Count);
        });
    }

    [Fact]
    public void AParkedGetAwaitedTwice_IsRefused()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            var putter = Tasklet.Spawn(async () => { await Tasklet.Yield(); q.TryPut(1); });
            var get = q.GetAsync();
            Assert.Equal(1, await get);
            Assert.Throws<InvalidOperationException>(() => get.IsCompleted);
            await putter;
        });
    }

    [Fact]
    public void UseFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>();
            await q.PutAsync(1);
            var errors = OtherThread.CallEach(() => q.TryPut(2), () => q.TryGet(out _), () => _ = q.Count, () => q.TaskDone())
                .OfType<Exception>().ToList();
            Assert.Equal(4, errors.Count);
            Assert.All(errors, e => Assert.Contains("loop's own thread", Assert.IsType<InvalidOperationException>(e).Message));
            Assert.Contains("AsyncQueue<Int32>.TryPut", errors[0].Message);
            Assert.Equal(1, q.Count);
        });
    }

    [Fact]
    public void ParkedGetterWithNothingToWakeIt_IsReportedAsADeadlock_NamingTheQueue()
    {
        var e = Assert.Throws<DeadlockException>(() => EventLoop.Run(async () =>
        {
            var q = new AsyncQueue<int>(4);
            await q.GetAsync();
        }));
        Assert.Matches(@"waiting on AsyncQueue<Int32> #\d+ \(0 of 4 items\) to get an item", e.Message);
    }

    [Fact]
    public void SteadyState_PutAndGet_AllocateNothing_FastOrParked()
    {
        Run(async () =>
        {
            var q = new AsyncQueue<int>(1);
            var consumer = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 3000; i++) await q.GetAsync();
            });
            for (int i = 0; i < 1000; i++) await q.PutAsync(i); // warm the pools; parks on most puts
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) await q.PutAsync(i);
            long parked = GC.GetAllocatedBytesForCurrentThread() - before;
            for (int i = 0; i < 1000; i++) await q.PutAsync(i);
            await consumer;

            var fast = new AsyncQueue<int>();
            for (int i = 0; i < 10; i++) { await fast.PutAsync(i); await fast.GetAsync(); }
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) { await fast.PutAsync(i); await fast.GetAsync(); fast.TryPut(i); fast.TryGet(out _); }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(0, parked);
        });
    }

    [Theory, InlineData(1), InlineData(2), InlineData(3), InlineData(4)]
    public void RandomOperations_NeverLoseOrDuplicateAnItem(int seed) => QueueFuzz.Run(seed, max => new AsyncQueue<int>(max));
}

/// <summary>
/// The seeded random test every queue kind runs: workers put, get, try, time out and are killed
/// at random; every item put must be got exactly once or still be queued, no item whose put failed
/// may ever be got, and the queue's invariants hold after every step.
/// </summary>
internal static class QueueFuzz
{
    public static void Run(int seed, Func<int, AsyncQueueBase<int>> make)
    {
        TestLoop.Run(async () =>
        {
            var rng = new Random(seed);
            int maxSize = rng.Next(4) == 0 ? 0 : rng.Next(1, 5);
            var q = make(maxSize);
            var put = new HashSet<int>();
            var notPut = new HashSet<int>();
            var got = new List<int>();
            int nextItem = 0, done = 0;
            bool stop = false;

            TimeSpan? RandomTimeout() => rng.Next(4) switch { 0 => null, 1 => TimeSpan.Zero, _ => TimeSpan.FromMilliseconds(rng.Next(1, 3)) };

            void Check(string where)
            {
                Assert.True(maxSize == 0 || q.Count <= maxSize, $"seed {seed}: {q} holds more than {maxSize} ({where})");
                Assert.True(q.WaitingGetters == 0 || q.Count == 0, $"seed {seed}: getters wait while {q} has items ({where})");
                Assert.True(q.WaitingPutters == 0 || q.IsFull, $"seed {seed}: putters wait while {q} has room ({where})");
                Assert.True(q.UnfinishedTasks >= q.Count, $"seed {seed}: unfinished {q.UnfinishedTasks} below count {q.Count} ({where})");
            }

            async Task Worker()
            {
                while (!stop)
                {
                    switch (rng.Next(6))
                    {
                        case 0:
                        case 1:
                            int item = nextItem++;
                            try
                            {
                                await q.PutAsync(item, RandomTimeout());
                                put.Add(item);
                            }
                            catch (Exception e) when (e is QueueFullException or TaskletExit)
                            {
                                notPut.Add(item);
                                if (e is TaskletExit) throw;
                            }
                            break;
                        case 2:
                        case 3:
                            try
                            {
                                got.Add(await q.GetAsync(RandomTimeout()));
                                if (rng.Next(2) == 0) { q.TaskDone(); done++; }
                            }
                            catch (QueueEmptyException) { }
                            break;
                        case 4:
                            int tryItem = nextItem++;
                            if (q.TryPut(tryItem)) put.Add(tryItem); else notPut.Add(tryItem);
                            if (q.TryGet(out var g)) got.Add(g);
                            break;
                        default:
                            await Tasklet.Yield();
                            break;
                    }
                    Check("worker");
                }
            }

            var workers = Enumerable.Range(0, 5).Select(i => Tasklet.Spawn(Worker, $"worker {i}")).ToList();
            for (int step = 0; step < 1500; step++)
            {
                int r = rng.Next(20);
                if (r == 0)
                {
                    int victim = rng.Next(workers.Count);
                    workers[victim].Kill();
                    workers[victim] = Tasklet.Spawn(Worker, $"worker {step}");
                }
                else if (r == 1)
                {
                    await Tasklet.Sleep(TimeSpan.FromMilliseconds(1));
                }
                else
                {
                    await Tasklet.Yield();
                }
                Check($"step {step}");
            }
            stop = true;
            foreach (var w in workers) w.Kill();
            foreach (var w in workers) await w.JoinAsync();
            Assert.True(q.WaitingGetters == 0 && q.WaitingPutters == 0, $"seed {seed}: waiters left behind in {q}");

            Assert.True(q.UnfinishedTasks == put.Count - done, $"seed {seed}: unfinished {q.UnfinishedTasks}, put {put.Count}, done {done}");
            var queued = new List<int>();
            while (q.TryGet(out var rest)) queued.Add(rest);
            var all = got.Concat(queued).ToList();
            Assert.True(all.Count == all.Distinct().Count(), $"seed {seed}: an item was got twice");
            Assert.True(put.SetEquals(all), $"seed {seed}: items put {put.Count}, got or queued {all.Count}; lost [{string.Join(",", put.Except(all))}], unexpected [{string.Join(",", all.Except(put))}]");
            Assert.Empty(notPut.Intersect(put));
            Assert.True(got.Count > 10 && (maxSize == 0 || notPut.Count > 0), $"seed {seed}: the test exercised too little ({got.Count} got, {notPut.Count} refused)");
        });
    }
}
