using System.Diagnostics;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class TaskletTests
{
    [Fact]
    public void Spawn_RunsBody_AndAwaitReturnsItsValue()
    {
        Run(async () =>
        {
            bool called = false;
            var t = Tasklet.Spawn(() => { called = true; return Task.CompletedTask; });
            Assert.Equal(TaskletState.Running, t.State);
            await t;
            Assert.True(called);
            Assert.Equal(TaskletState.Completed, t.State);
            Assert.False(t.IsAlive);

            var answer = Tasklet.Spawn(async () => { await Tasklet.Yield(); return 42; });
            Assert.Equal(42, await answer);
            Assert.Equal(42, answer.Result);
        });
    }

    /// <summary>A ValueTask-returning body (Tasklet.Sleep, an async ValueTask method) is accepted, and async lambdas are not ambiguous.</summary>
    [Fact]
    public void Spawn_AcceptsValueTaskBodies_AndAsyncLambdasStillBindToTheTaskForms()
    {
        Run(async loop =>
        {
            async ValueTask<int> Answer()
            {
                await Tasklet.Yield();
                return 42;
            }
            Tasklet slept = Tasklet.Spawn(() => Tasklet.Sleep(Ms(1)), "sleeper");
            Tasklet<int> answer = Tasklet.Spawn(() => Answer());
            Tasklet<int> methodGroup = loop.Spawn(Answer);
            Tasklet yielded = loop.Spawn(() => Tasklet.Yield());
            var constructed = new Tasklet(() => Tasklet.Yield());
            constructed.Start();
            var constructedValue = new Tasklet<int>(Answer);
            constructedValue.Start();
            Tasklet<int> done = Tasklet.Spawn(() => new ValueTask<int>(7)); // finished in its first step
            Tasklet asyncTask = Tasklet.Spawn(async () => await Tasklet.Yield());
            Tasklet<int> asyncValue = Tasklet.Spawn(async () => { await Tasklet.Yield(); return 1; });
            Tasklet failed = Tasklet.Spawn(() => ValueTask.FromException(new FormatException("value task body")));
            Assert.Equal("value task body", (await Assert.ThrowsAsync<FormatException>(async () => await failed)).Message);
            Tasklet thrower = Tasklet.Spawn(() => throw new IOException("thrown"));
            await Assert.ThrowsAsync<IOException>(async () => await thrower);
            await slept;
            Assert.Equal("sleeper", slept.Name);
            Assert.Equal(42, await answer);
            Assert.Equal(42, await methodGroup);
            await yielded;
            await constructed;
            Assert.Equal(42, await constructedValue);
            Assert.Equal(7, await done);
            await asyncTask;
            Assert.Equal(1, await asyncValue);
        });
    }

    [Fact]
    public void SpawnOrder_IsRunOrder_AndYieldLetsEachOtherRunOnce()
    {
        // Evergreen's test_task_order: [1,2,3,1,2,3].
        Run(async () =>
        {
            var order = new List<int>();
            var tasklets = Enumerable.Range(1, 3).Select(i => Tasklet.Spawn(async () =>
            {
                order.Add(i);
                await Tasklet.Sleep(TimeSpan.Zero);
                order.Add(i);
            })).ToList();
            foreach (var t in tasklets) await t.JoinAsync();
            Assert.Equal([1, 2, 3, 1, 2, 3], order);
        });
    }

    [Fact]
    public void Yield_RotatesThroughReadyTasklets_InFifoOrder()
    {
        Run(async () =>
        {
            var order = new List<string>();
            var a = Tasklet.Spawn(async () => { for (int i = 0; i < 3; i++) { order.Add("a"); await Tasklet.Yield(); } });
            var b = Tasklet.Spawn(async () => { for (int i = 0; i < 3; i++) { order.Add("b"); await Tasklet.Yield(); } });
            await a;
            await b;
            Assert.Equal("ababab", string.Concat(order));
        });
    }

    private sealed class CountingTasklet(List<string> log) : Tasklet("counter")
    {
        protected override async Task RunAsync()
        {
            log.Add($"run in {Current?.Name}");
            await Sleep(TimeSpan.FromMilliseconds(1));
            log.Add("done");
        }
    }

    private sealed class AnswerTasklet : Tasklet<int>
    {
        protected override async Task<int> RunAsync()
        {
            await Yield();
            return 7;
        }
    }

    [Fact]
    public void Subclass_OverridingRunAsync_RunsWhenStarted()
    {
        // Evergreen's Task subclass with run().
        Run(async () =>
        {
            var log = new List<string>();
            var t = new CountingTasklet(log);
            Assert.Equal(TaskletState.Created, t.State);
            t.Start();
            await t;
            Assert.Equal(["run in counter", "done"], log);

            var answer = new AnswerTasklet();
            answer.Start();
            Assert.Equal(7, await answer);
        });
    }

    [Fact]
    public void Start_Twice_Throws()
    {
        Run(async () =>
        {
            var t = new Tasklet(() => Task.CompletedTask);
            t.Start();
            var e = Assert.Throws<InvalidOperationException>(t.Start);
            Assert.Contains("started only once", e.Message);
            await t;
        });
    }

    [Fact]
    public void Kill_BeforeStart_BodyNeverRuns()
    {
        Run(async () =>
        {
            bool ran = false;
            var spawned = Tasklet.Spawn(() => { ran = true; return Task.CompletedTask; });
            spawned.Kill();
            Assert.Equal(TaskletState.Killed, spawned.State);
            Assert.True(await spawned.JoinAsync());

            var created = new Tasklet(() => { ran = true; return Task.CompletedTask; });
            created.Kill();
            Assert.Equal(TaskletState.Killed, created.State);
            Assert.Throws<InvalidOperationException>(created.Start);

            await Tasklet.Yield();
            Assert.False(ran);
        });
    }

    [Fact]
    public void Kill_WhileSleeping_DeliversTaskletExitAtThePark_AndFinallyRuns()
    {
        Run(async () =>
        {
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                try
                {
                    await Tasklet.Sleep(TimeSpan.FromSeconds(30));
                    log.Add("woke");
                }
                catch (TaskletExit)
                {
                    log.Add("exit");
                    throw;
                }
                finally
                {
                    log.Add("finally");
                }
            });
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, t.State);
            t.Kill();
            Assert.True(await t.JoinAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(["exit", "finally"], log);
            Assert.Equal(TaskletState.Killed, t.State);
            Assert.IsType<TaskletExit>(t.Exception);
        });
    }

    [Fact]
    public void Kill_WhileReady_IsDeliveredAtTheNextYieldPoint()
    {
        Run(async () =>
        {
            int steps = 0;
            var t = Tasklet.Spawn(async () =>
            {
                while (true)
                {
                    steps++;
                    await Tasklet.Yield();
                }
            });
            await Tasklet.Yield();
            await Tasklet.Yield();
            t.Kill();
            await t.JoinAsync();
            Assert.Equal(TaskletState.Killed, t.State);
            Assert.InRange(steps, 2, 4);
        });
    }

    [Fact]
    public void Kill_WithCustomException_FailsTheTasklet_AndAwaitRethrowsIt()
    {
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(TimeSpan.FromSeconds(30)));
            await Tasklet.Yield();
            var awaiter = Tasklet.Spawn(async () => await t);
            await Tasklet.Yield();
            t.Kill(new InvalidDataException("stop now"));
            var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await awaiter);
            Assert.Equal("stop now", e.Message);
            Assert.Equal(TaskletState.Failed, t.State);
        });
    }

    [Fact]
    public void Kill_FinishedTasklet_DoesNothing()
    {
        Run(async () =>
        {
            var t = Tasklet.Spawn(() => Task.CompletedTask);
            await t;
            t.Kill();
            Assert.Equal(TaskletState.Completed, t.State);
            Assert.Null(t.Exception);
        });
    }

    [Fact]
    public void Await_KilledTasklet_ThrowsTaskletKilledException_NotTaskletExit()
    {
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(TimeSpan.FromSeconds(30)), "victim");
            await Tasklet.Yield();
            t.Kill();
            var e = await Assert.ThrowsAsync<TaskletKilledException>(async () => await t);
            Assert.Same(t, e.Tasklet);
            Assert.Contains("victim", e.Message);
        });
    }

    [Fact]
    public void JoinAsync_WithTimeout_ReturnsFalseWhileItRuns_ThenTrue()
    {
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(TimeSpan.FromMilliseconds(200)));
            Assert.False(await t.JoinAsync(Ms(10)));
            Assert.True(t.IsAlive);
            Assert.True(await t.JoinAsync());
            Assert.True(await t.JoinAsync(Ms(1)));
        });
    }

    [Fact]
    public void JoinAsync_NeverStarted_Throws()
    {
        Run(async () =>
        {
            var t = new Tasklet(() => Task.CompletedTask);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await t.JoinAsync());
            Assert.Contains("never started", e.Message);
        });
    }

    [Fact]
    public void Await_FailedTasklet_RethrowsItsException_AndItIsNotReported()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                throw new ArgumentException("bad input");
            });
            var e = await Assert.ThrowsAsync<ArgumentException>(async () => await t);
            Assert.Equal("bad input", e.Message);
            Assert.Equal(TaskletState.Failed, t.State);
        }, reports);
        Assert.Empty(reports);
    }

    [Fact]
    public void FailedTasklet_NobodyAwaits_IsReportedWithItsName()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var t = Tasklet.Spawn(() => throw new InvalidOperationException("lost?"), "orphan");
            await t.JoinAsync();
            Assert.Equal(TaskletState.Failed, t.State);
        }, reports);
        var report = Assert.Single(reports);
        Assert.IsType<InvalidOperationException>(report.Exception);
        Assert.Contains("orphan", report.Source);
        Assert.Equal("orphan", report.Tasklet!.Name);
        Assert.StartsWith("Evergreen: unhandled exception in tasklet 'orphan'", report.ToString());
    }

    /// <summary>A tasklet with no extras yet (no name, no joiner) that fails in its first step kept no exception: a later await threw a NullReferenceException.</summary>
    [Fact]
    public void ATaskletFailingInItsFirstStep_KeepsItsException_EvenUnnamedAndNotWaitedFor()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var t = Tasklet.Spawn(() => throw new FormatException("first step"));
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Failed, t.State);
            Assert.IsType<FormatException>(t.Exception);
            Assert.Equal("first step", (await Assert.ThrowsAsync<FormatException>(async () => await t)).Message);
        }, reports);
        Assert.IsType<FormatException>(Assert.Single(reports).Exception); // nobody was awaiting it when it failed
    }

    [Fact]
    public void KilledTasklet_IsNeverReported()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(TimeSpan.FromSeconds(30)));
            await Tasklet.Yield();
            t.Kill();
            await t.JoinAsync();
            var self = Tasklet.Spawn(() => throw new TaskletExit());
            await self.JoinAsync();
            Assert.Equal(TaskletState.Killed, self.State);
        }, reports);
        Assert.Empty(reports);
    }

    [Fact]
    public void Sleep_TakesAtLeastItsDelay()
    {
        Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            await Tasklet.Sleep(Ms(50));
            Assert.True(clock.Elapsed >= Ms(49), $"slept {clock.Elapsed.TotalMilliseconds} ms");
            clock.Restart();
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(20));
            Assert.True(clock.Elapsed >= Ms(19), $"slept {clock.Elapsed.TotalMilliseconds} ms");
        });
    }

    [Fact]
    public void Sleepers_WakeInDeadlineOrder()
    {
        Run(async () =>
        {
            var order = new List<int>();
            var sleepers = new[] { 30, 10, 20 }.Select(ms => Tasklet.Spawn(async () =>
            {
                await Tasklet.Sleep(Ms(ms));
                order.Add(ms);
            })).ToList();
            foreach (var s in sleepers) await s;
            Assert.Equal([10, 20, 30], order);
        });
    }

    [Fact]
    public void Sleep_Negative_Throws_AndOutsideATasklet_Throws()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Tasklet.Sleep(Ms(-1)));
            Assert.Throws<ArgumentOutOfRangeException>(() => Tasklet.Sleep(TimeSpan.FromTicks(-1)));
            var loop = EventLoop.Current;
            Exception? fromCallback = null;
            loop.CallSoon(() => fromCallback = Record.Exception(() => Tasklet.Sleep(Ms(1))));
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(fromCallback);
            Assert.Contains("outside any tasklet", fromCallback!.Message);
        });
    }

    [Fact]
    public void Spawn_NullBody_Throws_AndSpawnWithoutALoop_SaysSo()
    {
        Assert.Throws<ArgumentNullException>(() => new Tasklet(null!));
        var e = Assert.Throws<InvalidOperationException>(() => Tasklet.Spawn(() => Task.CompletedTask));
        Assert.Contains("no EventLoop on this thread", e.Message);
    }

    private static async Task<Tasklet?> NestedAsync(int depth)
    {
        if (depth > 0) return await NestedAsync(depth - 1);
        await Tasklet.Yield();
        await Task.Delay(1);
        return Tasklet.Current;
    }

    [Fact]
    public void Current_IsRightAcrossAwaitsOfTasksTaskletsAndNestedMethods()
    {
        Run(async () =>
        {
            var seen = new List<(string, bool)>();
            var workers = Enumerable.Range(0, 3).Select(i => Tasklet.Spawn(async () =>
            {
                var me = Tasklet.Current!;
                await Task.Delay(5);                       // an ordinary Task, completed on a timer thread
                seen.Add(("delay", Tasklet.Current == me));
                await Task.Yield();                        // goes through the tasklet's SynchronizationContext
                seen.Add(("task-yield", Tasklet.Current == me));
                await Task.Run(() => Thread.Sleep(2));     // the thread pool
                seen.Add(("task-run", Tasklet.Current == me));
                seen.Add(("nested", await NestedAsync(3) == me));
                var other = Tasklet.Spawn(async () => await Tasklet.Sleep(Ms(1)));
                await other;
                seen.Add(("tasklet", Tasklet.Current == me));
                var tcs = new TaskCompletionSource();
                _ = Tasklet.Spawn(() => { tcs.SetResult(); return Task.CompletedTask; });
                await tcs.Task;                            // completed by another tasklet
                seen.Add(("tcs", Tasklet.Current == me));
            }, $"w{i}")).ToList();
            foreach (var w in workers) await w;
            Assert.Equal(18, seen.Count);
            Assert.All(seen, s => Assert.True(s.Item2, $"Current was wrong after {s.Item1}"));
        });
    }

    [Fact]
    public void TaskletAwaitingItself_Throws()
    {
        Run(async () =>
        {
            Tasklet? self = null;
            self = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await self!);
                await Assert.ThrowsAsync<InvalidOperationException>(async () => await self!.JoinAsync());
            });
            await self;
        });
    }

    [Fact]
    public void ParkingTwiceAtOnce_IsAClearError()
    {
        Run(async () =>
        {
            async Task SleepAsync() => await Tasklet.Sleep(Ms(5));
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Task.WhenAll(SleepAsync(), SleepAsync()));
            Assert.Contains("waits on one thing at a time", e.Message);
        });
    }

    [Fact]
    public void IdsAreUnique_AndNamesDefaultToTheId()
    {
        Run(async () =>
        {
            var a = Tasklet.Spawn(() => Task.CompletedTask);
            var b = Tasklet.Spawn(() => Task.CompletedTask, "bee");
            Assert.NotEqual(a.Id, b.Id);
            Assert.Equal($"tasklet-{a.Id}", a.Name);
            Assert.Equal("bee", b.Name);
            Assert.Equal($"tasklet 'bee' (#{b.Id})", b.Describe());
            b.Name = "wasp";
            Assert.Equal("wasp", b.Name);
            await a;
            await b;
        });
    }

    [Fact]
    public void KillFromAnotherThread_IsRefused()
    {
        Run(async () =>
        {
            var t = Tasklet.Spawn(async () => await Tasklet.Sleep(Ms(20)));
            var e = await Task.Run(() => Record.Exception(() => t.Kill()));
            Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("CallFromThread is the only", e!.Message);
            await t;
        });
    }
}

public class TaskletSelfKillTests
{
    [Fact]
    public void KillingItselfInItsFirstStep_LandsAtItsFirstPark_AsTaskletExit()
    {
        // The body is running, though RunAsync has not returned its Task yet: not "never ran".
        TestLoop.Run(async () =>
        {
            var log = new List<string>();
            var t = Tasklet.Spawn(async () =>
            {
                Tasklet.Current!.Kill();
                log.Add($"still running, {Tasklet.Current!.State}");
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("TaskletExit at the first park"); throw; }
            });
            await t.JoinAsync();
            Assert.Equal(["still running, Running", "TaskletExit at the first park"], log);
            Assert.Equal(TaskletState.Killed, t.State);
        });
    }
}
