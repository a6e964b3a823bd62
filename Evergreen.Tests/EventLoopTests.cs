using System.Diagnostics;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class EventLoopTests
{
    [Fact]
    public void Current_IsTheThreadsLoop_AndASecondLoopIsRefused()
    {
        Assert.Throws<InvalidOperationException>(() => EventLoop.Current);
        using (var loop = new EventLoop())
        {
            Assert.Same(loop, EventLoop.Current);
            var e = Assert.Throws<InvalidOperationException>(() => new EventLoop());
            Assert.Contains("one loop per thread", e.Message);
        }
        var missing = Assert.Throws<InvalidOperationException>(() => EventLoop.Current);
        Assert.Contains("no EventLoop on this thread", missing.Message);
        using var again = new EventLoop();
        Assert.Same(again, EventLoop.Current);
    }

    [Fact]
    public void Run_WithNothingToDo_ReturnsAtOnce()
    {
        using var loop = new EventLoop();
        loop.Run();
        AssertClean(loop);
    }

    [Fact]
    public void StaticRun_TakesValueTaskMains_AndAsyncLambdasStillBindToTheTaskForms()
    {
        static async ValueTask<int> Answer()
        {
            await Tasklet.Sleep(Ms(1));
            return 42;
        }
        EventLoop.Run(() => Tasklet.Sleep(Ms(1)));                 // Func<ValueTask>
        Assert.Equal(42, EventLoop.Run(() => Answer()));           // Func<ValueTask<int>>
        Assert.Equal(7, EventLoop.Run(async () => { await Tasklet.Sleep(Ms(1)); return 7; })); // still the Task form
        var e = Assert.Throws<FormatException>(() => EventLoop.Run(() => ValueTask.FromException(new FormatException("a ValueTask main failed"))));
        Assert.Equal("a ValueTask main failed", e.Message);
        Assert.Throws<InvalidOperationException>(() => EventLoop.Current); // each loop was disposed
    }

    [Fact]
    public void StaticRun_ReturnsMainsValue_AndRethrowsMainsException()
    {
        Assert.Equal(5, EventLoop.Run(async () => { await Tasklet.Sleep(Ms(1)); return 5; }));
        var e = Assert.Throws<FormatException>(() => EventLoop.Run(async () =>
        {
            await Tasklet.Yield();
            throw new FormatException("main failed");
        }));
        Assert.Equal("main failed", e.Message);
        Assert.Throws<InvalidOperationException>(() => EventLoop.Current); // the loop was disposed
    }

    [Fact]
    public void StaticRun_WaitsForEveryTasklet_NotJustMain()
    {
        int finished = 0;
        EventLoop.Run(() =>
        {
            for (int i = 0; i < 5; i++) Tasklet.Spawn(async () => { await Tasklet.Sleep(Ms(5)); finished++; });
            return Task.CompletedTask;
        });
        Assert.Equal(5, finished);
    }

    [Fact]
    public void CallSoon_RunsInOrder_InterleavedFifoWithTasklets()
    {
        Run(async loop =>
        {
            var order = new List<string>();
            loop.CallSoon(() => order.Add("soon1"));
            _ = Tasklet.Spawn(() => { order.Add("tasklet"); return Task.CompletedTask; });
            loop.CallSoon(() => order.Add("soon2"));
            var cancelled = loop.CallSoon(() => order.Add("cancelled"));
            cancelled.Cancel();
            Assert.True(cancelled.IsCanceled);
            await Tasklet.Yield();
            Assert.Equal(["soon1", "tasklet", "soon2"], order);
        });
    }

    [Fact]
    public void CallLater_RunsInDueOrder_EqualDueTimesInCallOrder()
    {
        Run(async loop =>
        {
            var order = new List<string>();
            loop.CallLater(Ms(30), () => order.Add("30"));
            loop.CallLater(Ms(10), () => order.Add("10a"));
            loop.CallLater(Ms(20), () => order.Add("20"));
            var cancel = loop.CallLater(Ms(15), () => order.Add("15"));
            TimeSpan now = loop.Time;
            loop.CallAt(now + Ms(10), () => order.Add("at10"));
            loop.CallAt(now - TimeSpan.FromSeconds(1), () => order.Add("past"));
            cancel.Cancel();
            await Tasklet.Sleep(Ms(60));
            Assert.Equal("past", order[0]);
            Assert.Equal(["20", "30"], order[^2..]);
            Assert.Contains("10a", order);
            Assert.Contains("at10", order);
            Assert.DoesNotContain("15", order);
        });
    }

    [Fact]
    public void CallLater_KeepsTheLoopAlive_AndFiresAfterItsDelay()
    {
        using var loop = new EventLoop();
        var clock = Stopwatch.StartNew();
        TimeSpan? firedAt = null;
        var cb = loop.CallLater(Ms(40), () => firedAt = clock.Elapsed);
        Assert.NotNull(cb.When);
        loop.Run();
        Assert.NotNull(firedAt);
        Assert.True(firedAt >= Ms(39), $"fired at {firedAt?.TotalMilliseconds} ms");
        AssertClean(loop);
    }

    [Fact]
    public void ATimerDueWhenLibuvStartsItsIteration_StillWakesTheLoop_WhileAHandleIsOpen()
    {
        // libuv 1.44 runs due timers before it polls. A sub-millisecond sleep arms the loop's
        // libuv timer for the next millisecond boundary, which often passes between arming it
        // and uv_run: the timer then fires before the poll, and the poll must not block (here
        // an open server keeps libuv alive, as in any real program). With the bug, one of these
        // sleeps never ends and the watchdog fails the test.
        TestLoop.Run(async loop =>
        {
            await using var server = new Evergreen.IO.TcpServer();
            server.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            server.Listen();
            // Garbage from another thread makes GCs, which pause the loop thread between arming
            // its timer and entering uv_run: that widens the race from nanoseconds to a GC pause.
            using var stop = new CancellationTokenSource();
            var garbage = new Thread(() =>
            {
                while (!stop.IsCancellationRequested) GC.KeepAlive(new byte[16 * 1024]);
            }) { IsBackground = true };
            garbage.Start();
            for (int i = 0; i < 3000; i++) await Tasklet.Sleep(TimeSpan.FromMilliseconds(0.2));
            stop.Cancel();
            garbage.Join();
        });
    }

    [Fact]
    public void Time_IsMonotonic()
    {
        using var loop = new EventLoop();
        TimeSpan a = loop.Time;
        Thread.Sleep(5);
        TimeSpan b = loop.Time;
        Assert.InRange(b - a, Ms(4), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void BadArguments_GetArgumentExceptions()
    {
        using var loop = new EventLoop();
        Assert.Throws<ArgumentNullException>(() => loop.CallSoon(null!));
        Assert.Throws<ArgumentNullException>(() => loop.CallLater(Ms(1), null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => loop.CallLater(Ms(-1), () => { }));
        Assert.Throws<ArgumentNullException>(() => loop.CallFromThread(null!));
        Assert.Throws<ArgumentNullException>(() => loop.Spawn((Func<Task>)null!));
        Assert.Throws<ArgumentNullException>(() => EventLoop.Run((Func<Task>)null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => loop.AddSignalHandler(0, () => { }));
    }

    [Fact]
    public void CallbackException_IsReported_AndTheLoopGoesOn()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async loop =>
        {
            bool after = false;
            loop.CallSoon(() => throw new InvalidOperationException("callback broke"));
            loop.CallLater(Ms(1), () => throw new FormatException("timer broke"));
            loop.CallSoon(() => after = true);
            await Tasklet.Sleep(Ms(10));
            Assert.True(after);
        }, reports);
        Assert.Equal(2, reports.Count);
        Assert.Contains(reports, r => r.Exception is InvalidOperationException && r.Source.Contains("CallSoon"));
        Assert.Contains(reports, r => r.Exception is FormatException && r.Source.Contains("CallLater"));
        Assert.All(reports, r => Assert.Null(r.Tasklet));
    }

    [Fact]
    public void DefaultReport_WritesOneLineNamingTheTasklet_ThenTheStack()
    {
        var saved = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            using var loop = new EventLoop();
            loop.Spawn(() => throw new InvalidDataException("nobody awaits me"), "lonely");
            loop.Run();
        }
        finally
        {
            Console.SetError(saved);
        }
        // Console.Error is process-wide: look for this test's line rather than assume it is first.
        var lines = captured.ToString().Split('\n');
        int at = Array.FindIndex(lines, l => l.StartsWith("Evergreen: unhandled exception in tasklet 'lonely' (#"));
        Assert.True(at >= 0, captured.ToString());
        Assert.Contains("System.IO.InvalidDataException: nobody awaits me", lines[at]);
        Assert.StartsWith("at ", lines[at + 1].TrimStart()); // then the stack, without saying the message again
        Assert.DoesNotContain("nobody awaits me", lines[at + 1]);
    }

    [Fact]
    public void DefaultReport_OfAWrappedFailure_SaysEachMessageOnce_AndKeepsTheInnerStack()
    {
        var writer = new StringWriter();
        Exception wrapped;
        try
        {
            try { throw new InvalidDataException("inner cause"); }
            catch (Exception e) { throw new IOException("outer failure", e); }
        }
        catch (Exception e)
        {
            wrapped = e;
        }
        EventLoop.WriteDefault(new LoopExceptionEventArgs(wrapped, null, "a CallSoon callback"), writer);
        string text = writer.ToString();
        Assert.StartsWith("Evergreen: unhandled exception in a CallSoon callback: System.IO.IOException: outer failure", text);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "outer failure"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "inner cause"));
        Assert.Contains("---> System.IO.InvalidDataException: inner cause", text);
    }

    [Fact]
    public void CallFromThread_FromARealThread_RunsOnTheLoopThread()
    {
        Run(async loop =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            var ranOn = new List<int>();
            var done = new TaskCompletionSource();
            var thread = new Thread(() =>
            {
                for (int i = 0; i < 100; i++) loop.CallFromThread(() => ranOn.Add(Environment.CurrentManagedThreadId));
                loop.CallFromThread(() => done.SetResult());
            }) { IsBackground = true };
            thread.Start();
            await done.Task; // a foreign wait: keeps the loop alive until the thread's calls arrive
            thread.Join();
            Assert.Equal(100, ranOn.Count);
            Assert.All(ranOn, id => Assert.Equal(loopThread, id));
        });
    }

    [Fact]
    public void CallFromThread_WakesABlockedRunForever()
    {
        using var loop = new EventLoop();
        int loopThread = Environment.CurrentManagedThreadId;
        int? ranOn = null;
        var thread = new Thread(() =>
        {
            Thread.Sleep(20);
            loop.CallFromThread(() =>
            {
                ranOn = Environment.CurrentManagedThreadId;
                loop.Stop();
            });
        }) { IsBackground = true };
        thread.Start();
        loop.RunForever();
        thread.Join();
        Assert.Equal(loopThread, ranOn);
        AssertClean(loop);
    }

    [Fact]
    public void RunForever_RunsUntilStop_EvenWithNothingToDo()
    {
        using var loop = new EventLoop();
        int ticks = 0;
        loop.CallLater(Ms(5), () => ticks++);
        loop.CallLater(Ms(30), () => { ticks++; loop.Stop(); });
        var clock = Stopwatch.StartNew();
        loop.RunForever();
        Assert.Equal(2, ticks);
        Assert.True(clock.Elapsed >= Ms(29));
        Assert.False(loop.IsRunning);
        loop.Stop(); // not running: does nothing
        loop.Run();
        AssertClean(loop);
    }

    [Fact]
    public void Stop_FromATasklet_ReturnsFromRun_AndRunResumesLater()
    {
        using var loop = new EventLoop();
        var log = new List<string>();
        loop.Spawn(async () =>
        {
            log.Add("before stop");
            loop.Stop();
            await Tasklet.Yield();
            log.Add("after stop");
        });
        loop.Run();
        Assert.Equal(["before stop"], log);
        loop.Run();
        Assert.Equal(["before stop", "after stop"], log);
        AssertClean(loop);
    }

    [Fact]
    public void MembersFromAnotherThread_AreRefusedWithTheRule()
    {
        using var loop = new EventLoop();
        var errors = new List<Exception?>();
        var thread = new Thread(() =>
        {
            errors.Add(Record.Exception(() => loop.CallSoon(() => { })));
            errors.Add(Record.Exception(() => loop.CallLater(Ms(1), () => { })));
            errors.Add(Record.Exception(() => loop.Spawn(() => Task.CompletedTask)));
            errors.Add(Record.Exception(() => loop.Stop()));
            errors.Add(Record.Exception(() => loop.Run()));
            errors.Add(Record.Exception(() => loop.Dispose()));
            errors.Add(Record.Exception(() => loop.AddSignalHandler(10, () => { })));
            errors.Add(Record.Exception(() => loop.CallFromThread(() => { }))); // allowed
        }) { IsBackground = true };
        thread.Start();
        thread.Join();
        Assert.All(errors.Take(7), e =>
        {
            Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("must be called on the loop's own thread", e!.Message);
            Assert.Contains("CallFromThread", e.Message);
        });
        Assert.Null(errors[7]);
        loop.Run(); // runs the cross-thread callback
        AssertClean(loop);
    }

    [Fact]
    public void ConfigureAwaitFalse_InATasklet_ThenALoopCall_NamesConfigureAwaitAsTheLikelyCause()
    {
        Run(async loop =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            int resumedOn = loopThread;
            var errors = new List<Exception?>();
            var t = Tasklet.Spawn(async () =>
            {
                await Task.Delay(1).ConfigureAwait(false);
                resumedOn = Environment.CurrentManagedThreadId;
                errors.Add(Record.Exception(() => EventLoop.Current));
                errors.Add(Record.Exception(() => Tasklet.Sleep(Ms(1))));
                errors.Add(Record.Exception(() => loop.CallSoon(() => { })));
            }, "configured");
            await t.JoinAsync();
            Assert.NotEqual(loopThread, resumedOn);
            Assert.Equal(3, errors.Count);
            Assert.All(errors, e =>
            {
                Assert.IsType<InvalidOperationException>(e);
                Assert.Contains("ConfigureAwait(false)", e!.Message);
            });
            Assert.Contains("no EventLoop on this thread", errors[0]!.Message);
            Assert.Contains("thread-pool thread", errors[0]!.Message);
            Assert.Contains("must be called on the loop's own thread", errors[2]!.Message);
        });
    }

    [Fact]
    public void NoLoop_OnAPlainThread_GivesTheUsualAdvice_NotConfigureAwait()
    {
        var e = Assert.IsType<InvalidOperationException>(OtherThread.CallEach(() => _ = EventLoop.Current)[0]);
        Assert.Contains("create one with `new EventLoop()`", e.Message);
        Assert.DoesNotContain("ConfigureAwait", e.Message);
    }

    [Fact]
    public void Dispose_KillsLiveTasklets_RunsTheirFinally_AndFreesEveryHandle()
    {
        var loop = new EventLoop();
        var log = new List<string>();
        loop.Spawn(async () =>
        {
            try { await Tasklet.Sleep(TimeSpan.FromHours(1)); }
            finally { log.Add("unwound"); }
        });
        loop.CallLater(TimeSpan.FromHours(1), () => log.Add("never"));
        loop.AddSignalHandler(12, () => { });
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        Assert.True(loop.HandleCount >= 3);
        loop.Dispose();
        Assert.Equal(["unwound"], log);
        Assert.Equal(0, loop.HandleCount);
        Assert.True(loop.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => loop.CallFromThread(() => { }));
        Assert.Throws<ObjectDisposedException>(() => loop.Run());
        loop.Dispose(); // twice is fine
    }

    [Theory]
    [InlineData(TimeSpan.TicksPerSecond)] // Windows: Stopwatch ticks are TimeSpan ticks
    [InlineData(1_000_000_000L)]          // Linux: nanoseconds
    public void SpanToTicks_ClampsTimeSpanMaxValue_AtEitherClockFrequency(long frequency)
    {
        long huge = EventLoop.SpanToTicks(TimeSpan.MaxValue, frequency);
        Assert.Equal(long.MaxValue / 4, huge);
        Assert.True(Stopwatch.GetTimestamp() + huge > 0); // now + the longest span does not overflow
        Assert.Equal(12_345 * (frequency / TimeSpan.TicksPerSecond), EventLoop.SpanToTicks(TimeSpan.FromTicks(12_345), frequency));
        Assert.Equal(0, EventLoop.SpanToTicks(TimeSpan.Zero, frequency));
    }

    [Fact]
    public void GetHandles_ListsTheLoopsOwnHandles_AsInternal()
    {
        using var loop = new EventLoop();
        var handles = loop.GetHandles();
        Assert.Contains(handles, h => h.Type == "timer" && h.IsInternal);
        Assert.Contains(handles, h => h.Type == "async" && h.IsInternal);
        Assert.Empty(loop.GetUserHandles());
        var sig = loop.AddSignalHandler(12, () => { });
        var user = Assert.Single(loop.GetUserHandles());
        Assert.Equal("signal", user.Type);
        Assert.False(user.HasRef);
        sig.Cancel();
        loop.Run();
        Assert.Empty(loop.GetUserHandles());
    }
}

public class KeepAliveTests
{
    [Fact]
    public void KeepAlive_LetsATaskletWaitForAThreadsCallFromThread_WithoutADeadlockReport()
    {
        TestLoop.Run(async loop =>
        {
            var gate = new WaitQueue("the worker's answer");
            var hold = loop.KeepAlive();
            Assert.Equal(1, loop.KeepAliveCount);
            int answer = 0;
            var worker = new Thread(() =>
            {
                Thread.Sleep(30);
                loop.CallFromThread(() =>
                {
                    answer = 42;
                    gate.UnparkOne();
                });
                hold.Dispose(); // from the worker thread: released on the loop
                hold.Dispose(); // twice is harmless
            }) { IsBackground = true };
            worker.Start();
            await gate.ParkAsync();
            worker.Join();
            Assert.Equal(42, answer);
            // The release was posted from the worker after the wake-up: it arrives on a later turn.
            for (int i = 0; i < 500 && loop.KeepAliveCount > 0; i++) await Tasklet.Sleep(Ms(1));
            Assert.Equal(0, loop.KeepAliveCount);
        });
    }

    [Fact]
    public void WithoutAHold_TheSameWaitIsReportedAsADeadlock()
    {
        var release = new ManualResetEventSlim();
        bool? reached = null;
        Thread? worker = null;
        DeadlockException e;
        try
        {
            e = Assert.Throws<DeadlockException>(() => EventLoop.Run(async () =>
            {
                var gate = new WaitQueue("the worker's answer");
                var loop = EventLoop.Current;
                worker = new Thread(() =>
                {
                    release.Wait();
                    reached = loop.TryCallFromThread(() => gate.UnparkOne()); // the loop is gone by then
                }) { IsBackground = true };
                worker.Start();
                await gate.ParkAsync();
            }));
        }
        finally
        {
            release.Set(); // whatever happened, the worker ends
        }
        worker!.Join();
        Assert.False(reached);
        Assert.Contains("the worker's answer", e.Message);
    }

    [Fact]
    public void TryCallFromThread_AfterDispose_ReturnsFalse()
    {
        var loop = new EventLoop();
        Assert.True(loop.TryCallFromThread(() => { }));
        loop.Run();
        loop.Dispose();
        bool? fromThread = null;
        var thread = new Thread(() => fromThread = loop.TryCallFromThread(() => { })) { IsBackground = true };
        thread.Start();
        thread.Join();
        Assert.False(fromThread);
        Assert.Throws<ArgumentNullException>(() => loop.TryCallFromThread(null!));
    }
}

public class CallFromThreadTests
{
    [Fact]
    public void CallbacksAcceptedAfterRunReturned_RunAtDispose_BeforeTheTaskletsAreKilled()
    {
        var loop = new EventLoop();
        var log = new List<string>();
        loop.Spawn(async () =>
        {
            try { await Tasklet.Sleep(TimeSpan.FromHours(1)); }
            finally { log.Add("tasklet unwound"); }
        });
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        int ran = 0;
        var accepted = OtherThread.CallEach(Enumerable.Range(0, 1000)
            .Select(_ => (Action)(() => Assert.True(loop.TryCallFromThread(() => ran++))))
            .Append(() => loop.CallFromThread(() => log.Add("callback")))
            .ToArray());
        Assert.All(accepted, Assert.Null);
        Assert.Equal(0, ran);
        loop.Dispose();
        Assert.Equal(1000, ran);
        Assert.Equal(["callback", "tasklet unwound"], log);
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void ACallbackRunAtDispose_MayDisposeTheLoopAgain_Harmlessly()
    {
        var loop = new EventLoop();
        var log = new List<string>();
        loop.Spawn(async () =>
        {
            try { await Tasklet.Sleep(TimeSpan.FromHours(1)); }
            finally { log.Add("unwound"); }
        });
        loop.CallSoon(loop.Stop);
        loop.RunForever();
        Assert.Null(OtherThread.CallEach(() => loop.CallFromThread(() =>
        {
            loop.Dispose(); // from inside the outer Dispose: nothing
            log.Add("callback");
        }))[0]);
        loop.Dispose();
        Assert.Equal(["callback", "unwound"], log);
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void EveryCallAccepted_WhileDisposeRacesWithFourThreads_RunsExactlyOnce()
    {
        var loop = new EventLoop();
        long accepted = 0;
        long ran = 0;
        using var go = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            go.Wait();
            // Posts until the loop refuses (once Dispose has begun), or a quarter of a million times.
            for (int i = 0; i < 250_000 && loop.TryCallFromThread(() => ran++); i++) Interlocked.Increment(ref accepted);
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        loop.Spawn(async () =>
        {
            go.Set();
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(20)); // the loop serves the threads for a while
            loop.Stop();
        });
        loop.RunForever();
        long ranBeforeDispose = ran;
        loop.Dispose(); // while the threads may still post, with callbacks queued
        threads.ForEach(t => t.Join());
        Assert.True(ran > ranBeforeDispose, "Dispose had queued callbacks to run");
        Assert.Equal(Interlocked.Read(ref accepted), ran);
        Assert.Throws<ObjectDisposedException>(() => loop.CallFromThread(() => { }));
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void CrossThreadCapacity_RefusesUserCallbacksPastIt_WithTheRule_AndRunsThoseAccepted()
    {
        TestLoop.Run(async loop =>
        {
            Assert.Equal(EventLoop.DefaultCrossThreadCapacity, loop.CrossThreadCapacity);
            loop.CrossThreadCapacity = 3;
            int ran = 0;
            // The loop thread is held (this tasklet does not yield) while another thread posts.
            var seen = OtherThread.CallEach(
                () => Assert.True(loop.TryCallFromThread(() => ran++)),
                () => Assert.True(loop.TryCallFromThread(() => ran++)),
                () => loop.CallFromThread(() => ran++),
                () => Assert.False(loop.TryCallFromThread(() => ran++)),
                () => loop.CallFromThread(() => ran++));
            Assert.All(seen.Take(4), Assert.Null);
            var full = Assert.IsType<InvalidOperationException>(seen[4]);
            Assert.Contains("3 callbacks already wait", full.Message);
            Assert.Contains("CrossThreadCapacity", full.Message);
            for (int i = 0; i < 1000 && ran < 3; i++) await Tasklet.Sleep(TimeSpan.FromMilliseconds(1));
            Assert.Equal(3, ran);
            Assert.True(loop.TryCallFromThread(() => ran++)); // drained: room again
            Assert.Throws<ArgumentOutOfRangeException>(() => loop.CrossThreadCapacity = 0);
            Assert.IsType<InvalidOperationException>(OtherThread.CallEach(() => loop.CrossThreadCapacity = 5)[0]);
            for (int i = 0; i < 1000 && ran < 4; i++) await Tasklet.Sleep(TimeSpan.FromMilliseconds(1));
            Assert.Equal(4, ran);
        });
    }

    [Fact]
    public void AFullQueue_StillLetsAnOffloadedCallAndATaskContinuationBack()
    {
        TestLoop.Run(async loop =>
        {
            loop.CrossThreadCapacity = 1;
            using var workMayEnd = new ManualResetEventSlim();
            var offloaded = Tasklet.Spawn(async () => await Offload.RunAsync(() => { workMayEnd.Wait(TimeSpan.FromSeconds(10)); return 42; }));
            var foreign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var awaiting = Tasklet.Spawn(async () => await foreign.Task);
            await Tasklet.Yield();
            // Held loop thread: fill the queue, then let the work and the task complete behind it.
            Assert.Null(OtherThread.CallEach(() => Assert.True(loop.TryCallFromThread(() => { })))[0]);
            Assert.False(loop.TryCallFromThread(() => { }));
            workMayEnd.Set();
            OtherThread.CallEach(foreign.SetResult); // the continuation comes back through the door too
            Assert.True(SpinWait.SpinUntil(() => loop.CrossThreadBacklog >= 3, TimeSpan.FromSeconds(10)));
            Assert.Equal(42, await offloaded);
            await awaiting;
        });
    }
}
