using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>TaskletPoolExecutor (Evergreen's TaskPoolExecutor) and what every Executor shares: submit, map, shutdown.</summary>
public class TaskletPoolExecutorTests
{
    /// <summary>A call that fails, through the synchronous overload (a bare `() => throw` binds to the async one).</summary>
    internal static int Throw(Exception e) => throw e;

    /// <summary>An async function returning a ValueTask, as HttpSession.GetAsync does: it parks its tasklet.</summary>
    internal static async ValueTask<int> WorkAsync(int i)
    {
        await Tasklet.Sleep(Ms(1));
        return i * 10;
    }

    internal static async Task<int> WorkTaskAsync(int i)
    {
        await Tasklet.Sleep(Ms(1));
        return i * 10;
    }

    [Fact]
    public void Submit_RunsTheCallInAWorkerTasklet_AndItsFutureHasTheValue()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(2);
            var me = Tasklet.Current;
            Tasklet? ranIn = null;
            var future = pool.Submit(() =>
            {
                ranIn = Tasklet.Current;
                return 6 * 7;
            });
            Assert.False(future.IsDone); // queued: Submit is not a yield point
            Assert.Equal(42, await future);
            Assert.NotNull(ranIn);
            Assert.NotSame(me, ranIn);
            Assert.Equal("TaskletPoolExecutor worker 1", ranIn!.Name);
        });
    }

    [Fact]
    public void Submit_PicksTheIntendedOverload_ForEachKindOfLambda()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(4);
            Future<int> value = pool.Submit(() => 1);
            Future<int> asyncValue = pool.Submit(async () => { await Tasklet.Sleep(TimeSpan.Zero); return 2; });
            bool ran = false;
            Future action = pool.Submit(() => { ran = true; });
            Future asyncAction = pool.Submit(async () => await Tasklet.Sleep(TimeSpan.Zero));
            IAsyncEnumerable<int> mapped = pool.MapAsync(x => x * 2, [1, 2]);
            IAsyncEnumerable<int> asyncMapped = pool.MapAsync(async x => { await Tasklet.Sleep(TimeSpan.Zero); return x * 3; }, [1, 2]);
            Assert.True(action is Future<object?>);
            Assert.True(asyncAction is Future<object?>);
            Assert.Equal(1, await value);
            Assert.Equal(2, await asyncValue);
            await action;
            await asyncAction;
            Assert.True(ran);
            Assert.Null(((Future<object?>)action).Result);
            Assert.Equal([2, 4], await mapped.ToListAsync());
            Assert.Equal([3, 6], await asyncMapped.ToListAsync());
        });
    }

    /// <summary>
    /// The issue's program: `MapAsync(i => Work(i), items)` with an async ValueTask&lt;int&gt;
    /// function bound to the synchronous overload, so each worker was parked by a call it thought
    /// done. Every async form (a ValueTask or Task lambda, an async lambda, a method group) now
    /// binds to an overload that awaits the call inside the bound, and yields plain results.
    /// </summary>
    [Fact]
    public void MapAsync_OfAnAsyncFunction_AwaitsEachCall_WhetherItReturnsAValueTaskOrATask()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(maxWorkers: 2);
            int running = 0, most = 0;
            async ValueTask<int> Tracked(int i)
            {
                most = Math.Max(most, ++running);
                await Tasklet.Sleep(Ms(1));
                running--;
                return i * 10;
            }
            int[] items = [1, 2, 3, 4, 5];
            int[] expected = [10, 20, 30, 40, 50];
            var results = new List<int>();
            await foreach (int r in pool.MapAsync(i => Tracked(i), items)) results.Add(r);
            Assert.Equal(expected, results);
            Assert.Equal(2, most); // the calls ran inside the bound, two at a time
            Assert.Equal(expected, await pool.MapAsync(WorkAsync, items).ToListAsync());
            Assert.Equal(expected, await pool.MapAsync(i => WorkTaskAsync(i), items).ToListAsync());
            Assert.Equal(expected, await pool.MapAsync(WorkTaskAsync, items).ToListAsync());
            Assert.Equal(expected, await pool.MapAsync(async i => await WorkAsync(i), items).ToListAsync());
            Assert.Equal(expected, await pool.MapAsync(i => new ValueTask<int>(i * 10), items).ToListAsync()); // done at once
            var e = await Assert.ThrowsAsync<IOException>(async () =>
            {
                await foreach (int _ in pool.MapAsync(i => ValueTask.FromException<int>(new IOException($"item {i}")), items)) { }
            });
            Assert.Equal("item 1", e.Message);
        });
    }

    [Fact]
    public void Submit_OfAValueTaskFunction_AwaitsIt_AndItsFutureHasItsOutcome()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(2);
            Future<int> value = pool.Submit(() => WorkAsync(4));
            Future slept = pool.Submit(() => Tasklet.Sleep(Ms(1)));
            Future<int> atOnce = pool.Submit(() => new ValueTask<int>(7));
            Future<int> failed = pool.Submit(() => ValueTask.FromException<int>(new IOException("value task")));
            Future failedAction = pool.Submit(() => ValueTask.FromException(new FormatException("value task action")));
            Assert.Equal(40, await value);
            await slept;
            Assert.Null(((Future<object?>)slept).Result);
            Assert.Equal(7, await atOnce);
            Assert.Equal("value task", (await Assert.ThrowsAsync<IOException>(async () => await failed)).Message);
            await Assert.ThrowsAsync<FormatException>(async () => await failedAction);
        });
    }

    /// <summary>`Submit&lt;int&gt;(() => throw ...)` was ambiguous (CS0121): it compiles, and the future holds the exception.</summary>
    [Fact]
    public void Submit_OfALambdaThatOnlyThrows_Compiles_AndTheFutureHoldsTheException()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            Future<int> typed = pool.Submit<int>(() => throw new FormatException("typed"));
            Future untyped = pool.Submit(() => throw new FormatException("untyped"));
            Assert.Equal("typed", (await Assert.ThrowsAsync<FormatException>(async () => await typed)).Message);
            Assert.Equal("untyped", (await Assert.ThrowsAsync<FormatException>(async () => await untyped)).Message);
        });
    }

    /// <summary>Naming a task type as the result forces the synchronous overload: refused, since the task would run outside the bound.</summary>
    [Fact]
    public void TheSynchronousOverloads_WithATaskTypeNamedAsTheResult_AreRefused()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var e = Assert.Throws<ArgumentException>(() => pool.Submit<ValueTask<int>>(() => WorkAsync(1)));
            Assert.Equal("call", e.ParamName);
            Assert.Contains("Executor.Submit: the function returns ValueTask<Int32>, a task", e.Message);
            Assert.Contains("outside the executor's bound", e.Message);
            Assert.Throws<ArgumentException>(() => pool.Submit<Task>(() => Task.CompletedTask));
            Assert.Throws<ArgumentException>(() => pool.Submit<ValueTask>(() => ValueTask.CompletedTask));
            e = Assert.Throws<ArgumentException>(() => pool.MapAsync<int, Task<int>>(WorkTaskAsync, [1]));
            Assert.Contains("Executor.MapAsync: the function returns Task<Int32>, a task", e.Message);
            Assert.Equal("TaskletPoolExecutor #" + pool.Id + " (1 worker at most, 0 running, 0 queued)", pool.ToString()); // nothing was queued
        });
    }

    [Fact]
    public void AtMostMaxWorkersCallsRunAtOnce()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(3);
            int running = 0, most = 0;
            var futures = Enumerable.Range(0, 20).Select(i => pool.Submit(async () =>
            {
                running++;
                most = Math.Max(most, running);
                await Tasklet.Sleep(Ms(2));
                running--;
                return i;
            })).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, EventLoop.Current.LiveTaskletCount - 1); // three workers, spawned on demand
            for (int i = 0; i < futures.Count; i++) Assert.Equal(i, await futures[i]);
            Assert.Equal(3, most);
        });
    }

    [Fact]
    public void WorkersEndWhenTheQueueIsEmpty_SoAnIdleExecutorKeepsNothingAlive()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(4);
            await pool.Submit(() => 1);
            await Tasklet.Yield();
            Assert.Equal(1, EventLoop.Current.LiveTaskletCount); // just this test
            Assert.Equal(2, await pool.Submit(() => 2));         // and it starts again on demand
            // Not shut down: the loop still finishes (no worker parked forever, no deadlock).
        });
    }

    [Fact]
    public void CallsThatNeverPark_ShareTheLoop_TheirWorkerYieldsBetweenThem()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            int done = 0;
            var seen = new List<int>();
            var futures = Enumerable.Range(0, 100).Select(_ => pool.Submit(() => ++done)).ToList();
            var watcher = Tasklet.Spawn(async () =>
            {
                while (done < 100)
                {
                    seen.Add(done);
                    await Tasklet.Yield();
                }
            });
            await watcher;
            Assert.True(seen.Distinct().Count() > 50, $"the watcher saw {seen.Distinct().Count()} distinct counts");
            Assert.Equal(100, await futures[^1]);
        });
    }

    [Fact]
    public void CallExceptions_ReachEveryPath_ResultAsyncAwaitResultAndException()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(2);
            var sync = pool.Submit(() => Throw(new FormatException("sync")));
            var asyncFailure = pool.Submit<int>(async () => { await Tasklet.Sleep(TimeSpan.Zero); throw new IOException("async"); });
            var action = pool.Submit(() => throw new ArgumentException("action"));
            Assert.Equal("sync", (await Assert.ThrowsAsync<FormatException>(async () => await sync)).Message);
            await Assert.ThrowsAsync<FormatException>(async () => await sync.ResultAsync());
            Assert.Throws<FormatException>(() => sync.Result);
            Assert.Equal("async", (await Assert.ThrowsAsync<IOException>(async () => await asyncFailure)).Message);
            Assert.IsType<IOException>(asyncFailure.Exception);
            await Assert.ThrowsAsync<ArgumentException>(async () => await action);
        });
    }

    [Fact]
    public void Cancel_BeforeTheCallRuns_ReturnsTrue_AndTheCallNeverRuns()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var gate = new Future<int>();
            var first = pool.Submit(async () => await gate);
            bool secondRan = false;
            var second = pool.Submit(() => { secondRan = true; return 2; });
            await Tasklet.Yield();
            Assert.True(first.IsRunning);
            Assert.False(second.IsRunning);
            Assert.True(second.Cancel());
            Assert.False(first.Cancel()); // running: cannot be cancelled
            gate.SetResult(1);
            Assert.Equal(1, await first);
            await Assert.ThrowsAsync<FutureCanceledException>(async () => await second);
            await pool.ShutdownAsync();
            Assert.False(secondRan);
        });
    }

    [Fact]
    public void AWorkerKilledWhileRunningACall_FailsThatFutureWithTheKill_AndTheQueueGoesOn()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            Tasklet? worker = null;
            var doomed = pool.Submit(async () =>
            {
                worker = Tasklet.Current;
                await Tasklet.Sleep(TimeSpan.FromHours(1));
                return 1;
            });
            var next = pool.Submit(() => 2);
            await Tasklet.Yield();
            worker!.Kill();
            await worker.JoinAsync();
            Assert.Equal(TaskletState.Killed, worker.State);
            Assert.IsType<TaskletExit>(doomed.Exception);
            // The awaiter was not killed itself: it gets what `await tasklet` gives for a killed tasklet.
            var e = await Assert.ThrowsAsync<TaskletKilledException>(async () => await doomed);
            Assert.Same(worker, e.Tasklet);
            Assert.Equal(2, await next); // a new worker took over the queue
        });
    }

    [Fact]
    public void AWorkerKilledBeforeItsFirstStep_IsReplaced_AndShutdownStillEnds()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(1);
            var future = pool.Submit(() => 3);
            var worker = Assert.Single(EventLoop.Current.LiveTasklets, t => t.Name.StartsWith("TaskletPoolExecutor worker"));
            worker.Kill(); // never ran: its body never will
            await pool.ShutdownAsync();
            Assert.Equal(3, await future);
        });
    }

    /// <summary>
    /// The bound holds on every path a worker ends by: counted wherever user code runs (each call,
    /// each worker's cancellation callbacks, which fire as it is killed or fails, the loop's
    /// report), there are never more live workers than MaxWorkers, and a worker's own failure (here
    /// its next park refused, because a call left it parked) is reported, naming its executor.
    /// </summary>
    [Fact]
    public void LiveWorkers_NeverOutnumberMaxWorkers_WhileCallsMisbehave()
    {
        var reports = new List<LoopExceptionEventArgs>();
        int most = 0;
        Run(async () =>
        {
            var loop = EventLoop.Current;
            void Count() => most = Math.Max(most, loop.LiveTasklets.Count(t => t.Name.StartsWith("TaskletPoolExecutor worker")));
            loop.UnhandledException += (_, _) => Count();
            async ValueTask LeftBehind() => await Tasklet.Sleep(TimeSpan.FromHours(1));
            var pool = new TaskletPoolExecutor(2);
            var futures = new List<Future>();
            for (int i = 0; i < 12; i++)
            {
                int kind = i % 4;
                futures.Add(pool.Submit(() =>
                {
                    Count();
                    Tasklet.Current!.CancellationToken.Register(Count);
                    switch (kind)
                    {
                        case 0: _ = LeftBehind(); break;     // leaves the worker parked: its next park is refused
                        case 1: Tasklet.Current.Kill(); break; // the worker dies at its next park
                        case 2: throw new FormatException("a call that fails");
                    }
                }));
            }
            for (int i = 0; i < futures.Count; i++)
            {
                if (i % 4 == 2) await Assert.ThrowsAsync<FormatException>(async () => await futures[i]);
                else await futures[i];
            }
            // And a worker killed before its first step (its body never runs) is replaced too.
            var more = Enumerable.Range(0, 4).Select(i => pool.Submit(() => { Count(); return i; })).ToList();
            loop.LiveTasklets.First(t => t.Name.StartsWith("TaskletPoolExecutor worker")).Kill();
            for (int i = 0; i < more.Count; i++) Assert.Equal(i, await more[i]);
            await pool.ShutdownAsync();
            Assert.Equal(0, loop.LiveTasklets.Count(t => t.Name.StartsWith("TaskletPoolExecutor worker")));
        }, reports);
        Assert.InRange(most, 1, 2);
        Assert.Equal(3, reports.Count); // one per call that left its worker parked
        Assert.All(reports, r =>
        {
            Assert.StartsWith("TaskletPoolExecutor worker", r.Tasklet?.Name);
            Assert.Contains("TaskletPoolExecutor #", r.Source);
            Assert.Contains("waits on one thing at a time", r.Exception.Message);
        });
    }

    /// <summary>Disposing the loop kills the workers; with calls still queued, no replacement is spawned: nothing is left alive.</summary>
    [Fact]
    public void DisposingTheLoop_WithCallsStillQueued_KillsTheWorkers_AndSpawnsNoReplacements()
    {
        var loop = new EventLoop();
        var reports = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => reports.Add(e);
        int started = 0, cleanups = 0;
        loop.Spawn(async () =>
        {
            var pool = new TaskletPoolExecutor(2);
            for (int i = 0; i < 20; i++)
            {
                _ = pool.Submit(async () =>
                {
                    started++;
                    try { await Tasklet.Sleep(TimeSpan.FromHours(1)); }
                    finally { cleanups++; }
                    return 0;
                });
            }
            await Tasklet.WaitAllParkedAsync(); // the two workers have started their calls
            loop.Stop();
        });
        loop.Run();
        Assert.Equal(2, started);
        loop.Dispose();
        Assert.Equal(0, loop.LiveTaskletCount);
        Assert.Equal(started, cleanups); // only the calls that ran had anything to unwind
        Assert.Empty(reports);
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void KillingATaskletWaitingOnAFuture_EndsItsWait_AndTheCallGoesOn()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var future = pool.Submit(async () => { await Tasklet.Sleep(Ms(20)); return 5; });
            var waiter = Tasklet.Spawn(async () => await future);
            await Tasklet.Yield();
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            Assert.Equal(5, await future);
        });
    }

    // --- MapAsync --------------------------------------------------------------------------------------

    [Fact]
    public void MapAsync_YieldsResultsInInputOrder_WhateverOrderTheCallsFinish()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(5);
            var delays = new[] { 25, 5, 15, 1, 10 };
            var results = new List<int>();
            await foreach (var r in pool.MapAsync(async d => { await Tasklet.Sleep(Ms(d)); return d; }, delays)) results.Add(r);
            Assert.Equal(delays, results);
        });
    }

    [Fact]
    public void MapAsync_SubmitsEveryItemWhenCalled_NotWhenEnumerated()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(2);
            var started = new List<int>();
            var results = pool.MapAsync(x => { started.Add(x); return x; }, Enumerable.Range(0, 5));
            await Tasklet.Sleep(Ms(1));
            Assert.Equal([0, 1, 2, 3, 4], started);
            Assert.Equal([0, 1, 2, 3, 4], await results.ToListAsync());
        });
    }

    [Fact]
    public void MapAsync_RethrowsACallsException_AtItsPosition_AndCancelsTheRest()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var ran = new List<int>();
            var seen = new List<int>();
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            {
                await foreach (var r in pool.MapAsync(x =>
                {
                    ran.Add(x);
                    return x == 2 ? throw new InvalidOperationException($"item {x}") : x;
                }, Enumerable.Range(0, 10)))
                {
                    seen.Add(r);
                }
            });
            Assert.Equal("item 2", e.Message);
            Assert.Equal([0, 1], seen);
            await pool.ShutdownAsync();
            Assert.True(ran.Count < 10, $"{ran.Count} calls ran: the rest should have been cancelled");
        });
    }

    [Fact]
    public void MapAsync_ResultNotReadyByTheDeadline_ThrowsTimeoutException()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(2);
            var seen = new List<int>();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                await foreach (var r in pool.MapAsync(async d => { await Tasklet.Sleep(Ms(d)); return d; }, [1, 500, 1], Ms(100))) seen.Add(r);
            });
            Assert.Equal([1], seen);
            Assert.Contains("item 1", e.Message);
            Assert.Contains("100 ms", e.Message);
            await pool.ShutdownAsync(); // the running 500 ms call goes on: cancellation cannot stop it
        });
    }

    [Fact]
    public void MapAsync_StoppedEarly_CancelsTheCallsNotStarted_AndReportsNone()
    {
        // TestLoop fails on any unexpected report: none of the abandoned futures may be reported,
        // even the running one that fails after the consumer left.
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(1);
            var ran = new List<int>();
            await foreach (var r in pool.MapAsync<int, int>(async x =>
            {
                ran.Add(x);
                await Tasklet.Sleep(Ms(1));
                if (x == 1) throw new Exception("nobody is listening any more");
                return x;
            }, Enumerable.Range(0, 10)))
            {
                if (r == 0) break;
            }
            await pool.ShutdownAsync();
            Assert.Equal([0, 1], ran); // 1 had started when the consumer left; 2..9 were cancelled
        });
    }

    [Fact]
    public void MapAsync_CanBeEnumeratedOnce()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var results = pool.MapAsync(x => x, [1]);
            Assert.Equal([1], await results.ToListAsync());
            var e = Assert.Throws<InvalidOperationException>(() => results.GetAsyncEnumerator());
            Assert.Contains("enumerated once", e.Message);
        });
    }

    // --- shutdown -------------------------------------------------------------------------------------

    [Fact]
    public void ShutdownWithWait_WaitsForEveryCall_AndThenSubmitIsRefused()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(2);
            var futures = Enumerable.Range(0, 6).Select(i => pool.Submit(async () => { await Tasklet.Sleep(Ms(5)); return i; })).ToList();
            Assert.False(pool.IsShutdown);
            await pool.ShutdownAsync();
            Assert.True(pool.IsShutdown);
            Assert.All(futures, f => Assert.True(f.IsDone));
            Assert.Equal(1, EventLoop.Current.LiveTaskletCount); // every worker has ended too
            var e = Assert.Throws<InvalidOperationException>(() => pool.Submit(() => 1));
            Assert.Contains("the executor is shut down", e.Message);
            Assert.Throws<InvalidOperationException>(() => pool.MapAsync(x => x, [1]));
            await pool.ShutdownAsync(); // twice is harmless
            await pool.DisposeAsync();
        });
    }

    [Fact]
    public void ShutdownWithoutWait_ReturnsAtOnce_AndTheQueuedCallsStillRun()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(1);
            var futures = Enumerable.Range(0, 3).Select(i => pool.Submit(async () => { await Tasklet.Sleep(Ms(2)); return i; })).ToList();
            var shutdown = pool.ShutdownAsync(wait: false);
            Assert.True(shutdown.IsCompletedSuccessfully);
            Assert.False(futures[2].IsDone);
            for (int i = 0; i < 3; i++) Assert.Equal(i, await futures[i]);
        });
    }

    [Fact]
    public void ShutdownCancellingPending_CancelsTheQueuedCalls_AndLetsTheRunningOneFinish()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(1);
            var futures = Enumerable.Range(0, 4).Select(i => pool.Submit(async () => { await Tasklet.Sleep(Ms(5)); return i; })).ToList();
            await Tasklet.Yield();
            await pool.ShutdownAsync(wait: true, cancelPending: true);
            Assert.Equal(0, await futures[0]);
            Assert.All(futures.Skip(1), f => Assert.True(f.IsCanceled));
        });
    }

    [Fact]
    public void AFailureNobodyObserved_IsReportedWhenTheExecutorShutsDown_AndOnlyThatOne()
    {
        var reports = new List<LoopExceptionEventArgs>();
        string? executorName = null;
        int lostId = 0;
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(2);
            executorName = $"TaskletPoolExecutor #{pool.Id}";
            var lost = pool.Submit(() => Throw(new FormatException("nobody reads me")));
            var awaited = pool.Submit(() => Throw(new IOException("awaited")));
            var read = pool.Submit(() => Throw(new IOException("read")));
            var called = pool.Submit(() => Throw(new IOException("called back")));
            lostId = lost.Id;
            called.AddDoneCallback(_ => { });
            await Assert.ThrowsAsync<IOException>(async () => await awaited);
            await Tasklet.Sleep(Ms(1));
            Assert.NotNull(read.Exception);
            Assert.Empty(reports); // nothing before the shutdown
            await pool.ShutdownAsync();
            Assert.Single(reports);
            await pool.DisposeAsync(); // reported once, not again
        }, reports);
        var report = Assert.Single(reports);
        Assert.IsType<FormatException>(report.Exception);
        Assert.Contains($"Future<Int32> #{lostId}", report.Source);
        Assert.Contains(executorName!, report.Source);
        Assert.Contains("nobody observed", report.Source);
    }

    [Fact]
    public void AwaitUsing_ShutsDownWithWait_AndReportsUnobservedFailures()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await using (var pool = new TaskletPoolExecutor(1))
            {
                _ = pool.Submit(async () => { await Tasklet.Sleep(Ms(5)); throw new TimeoutException("lost"); });
            }
            Assert.Single(reports);
        }, reports);
        Assert.IsType<TimeoutException>(Assert.Single(reports).Exception);
    }

    [Fact]
    public void ShutdownWithWait_FromOneOfItsOwnCalls_IsRefused()
    {
        Run(async () =>
        {
            await using var pool = new TaskletPoolExecutor(1);
            var inner = pool.Submit(async () => await pool.ShutdownAsync());
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await inner);
            Assert.Contains("would wait for itself", e.Message);
        });
    }

    [Fact]
    public void BadArguments_AndTheWrongThread_AreClearErrors()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new TaskletPoolExecutor(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => new TaskletPoolExecutor(-1));
            await using var pool = new TaskletPoolExecutor(1);
            Assert.Throws<ArgumentNullException>(() => pool.Submit((Func<int>)null!));
            Assert.Throws<ArgumentNullException>(() => pool.Submit((Action)null!));
            Assert.Throws<ArgumentNullException>(() => pool.MapAsync((Func<int, int>)null!, [1]));
            Assert.Throws<ArgumentNullException>(() => pool.MapAsync(x => x, (int[])null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => pool.MapAsync(x => x, [1], TimeSpan.FromSeconds(-1)));
            var seen = OtherThread.CallEach(
                () => pool.Submit(() => 1),
                () => _ = pool.IsShutdown,
                () => pool.ShutdownAsync(wait: false),
                () => new TaskletPoolExecutor(1));
            Assert.All(seen, e => Assert.IsType<InvalidOperationException>(e));
            Assert.Contains("no EventLoop on this thread", seen[3]!.Message);
            Assert.False(pool.IsShutdown);
        });
        // ShutdownAsync with wait parks: a loop callback cannot.
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(1);
            Exception? seen = null;
            EventLoop.Current.CallSoon(() =>
            {
                try { _ = pool.ShutdownAsync(); }
                catch (Exception e) { seen = e; }
            });
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(seen);
            Assert.False(pool.IsShutdown); // refused before anything changed
            await pool.ShutdownAsync();
        });
    }

    [Fact]
    public void ToString_NamesTheExecutorAndWhatItRuns()
    {
        Run(async () =>
        {
            var pool = new TaskletPoolExecutor(3);
            var f = pool.Submit(() => 1);
            Assert.Equal($"TaskletPoolExecutor #{pool.Id} (3 workers at most, 0 running, 1 queued)", pool.ToString());
            Assert.Contains($"from TaskletPoolExecutor #{pool.Id}", f.ToString());
            await pool.ShutdownAsync();
            Assert.EndsWith("shut down)", pool.ToString());
        });
    }
}
