using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

public class TaskGroupTests
{
    private sealed class Boom(string message) : Exception(message);

    private static readonly TimeSpan Forever = TimeSpan.FromMinutes(10);

    [Fact]
    public void LeavingTheBlock_WaitsForEveryChild()
    {
        Run(async () =>
        {
            var finished = new List<int>();
            var spawned = new List<Tasklet>();
            await using (var group = new TaskGroup("fetchers"))
            {
                for (int i = 0; i < 5; i++)
                {
                    int n = i;
                    spawned.Add(group.SpawnTasklet(async () =>
                    {
                        await Tasklet.Sleep(Ms(5 * (5 - n)));
                        finished.Add(n);
                    }));
                }
                Assert.Equal(5, group.Count);
                Assert.Equal(spawned, group.Children);
                Assert.Same(Tasklet.Current, group.Parent);
                Assert.Empty(finished);
            }
            Assert.Equal([4, 3, 2, 1, 0], finished);
        });
    }

    [Fact]
    public void ChildResults_CanBeAwaitedInsideTheBlock()
    {
        Run(async () =>
        {
            await using var group = new TaskGroup();
            var a = group.SpawnTasklet(async () => { await Tasklet.Yield(); return 20; });
            var b = group.SpawnTasklet(async () => { await Tasklet.Sleep(Ms(5)); return 22; });
            Assert.Equal(42, await a + await b);
        });
    }

    /// <summary>`group.Spawn(() => Tasklet.Sleep(TimeSpan.FromSeconds(1)))` did not compile (ValueTask to Task): ValueTask bodies are children like any other.</summary>
    [Fact]
    public void ValueTaskBodies_AreChildrenToo_AndTheirFailuresAreTheGroups()
    {
        Run(async () =>
        {
            async ValueTask<int> Answer()
            {
                await Tasklet.Sleep(Ms(1));
                return 42;
            }
            Tasklet<int>? answer = null;
            await using (var group = new TaskGroup())
            {
                group.Spawn(() => Tasklet.Sleep(Ms(1)));
                Tasklet slept = group.SpawnTasklet(() => Tasklet.Sleep(Ms(2)));
                answer = group.SpawnTasklet(() => Answer());
                group.Spawn(async () => await Tasklet.Yield()); // still the Task form
                Assert.Equal(4, group.Count);
                await slept;
            }
            Assert.Equal(42, answer.Result);
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                group.Spawn(() => ValueTask.FromException(new Boom("a ValueTask child")));
                group.Spawn(() => Tasklet.Sleep(Forever)); // killed by its sibling's failure
            });
            Assert.Equal("a ValueTask child", error.Message);
        });
    }

    [Fact]
    public void RunAsync_TakesAValueTaskBlock_AndItsFailureKillsTheChildren()
    {
        Run(async () =>
        {
            bool childRan = false;
            await TaskGroup.RunAsync(group =>
            {
                group.Spawn(async () => { await Tasklet.Sleep(Ms(1)); childRan = true; });
                return ValueTask.CompletedTask;
            });
            Assert.True(childRan);
            Tasklet? sleeper = null;
            var error = await Assert.ThrowsAsync<Boom>(() => TaskGroup.RunAsync(group =>
            {
                sleeper = group.SpawnTasklet(() => Tasklet.Sleep(Forever));
                return ValueTask.FromException(new Boom("the block"));
            }));
            Assert.Equal("the block", error.Message);
            Assert.Equal(TaskletState.Killed, sleeper!.State);
        });
    }

    [Fact]
    public void AChildCrash_WakesTheParentParkedInTheBlock_AndTheBlockThrowsIt()
    {
        Run(async () =>
        {
            Exception? seenByBlock = null;
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                group.Spawn(async () =>
                {
                    await Tasklet.Sleep(Ms(10));
                    throw new Boom("child failed");
                });
                try
                {
                    await Tasklet.Sleep(Forever);
                }
                catch (Exception e)
                {
                    seenByBlock = e;
                    throw;
                }
            });
            Assert.Equal("child failed", error.Message);
            // The block's park was cancelled by the group (not a timeout, not the loop ending).
            var exit = Assert.IsType<TaskletExit>(seenByBlock);
            Assert.Contains("failed (Boom: child failed)", exit.Message);
        });
    }

    [Fact]
    public void AChildCrash_WhileTheParentWaitsToLeave_IsThrown()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                group.Spawn(() => Tasklet.Sleep(Ms(20)).AsTask());
                group.Spawn(async () =>
                {
                    await Tasklet.Sleep(Ms(5));
                    throw new Boom("late");
                });
            });
            Assert.Equal("late", error.Message);
        });
    }

    [Fact]
    public void AChildCrash_KillsItsSiblings_WhoseExitIsNotAFailure()
    {
        Run(async () =>
        {
            var siblings = new List<Tasklet>();
            int cleanedUp = 0;
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                for (int i = 0; i < 3; i++)
                {
                    siblings.Add(group.SpawnTasklet(async () =>
                    {
                        try
                        {
                            await Tasklet.Sleep(Forever);
                        }
                        finally
                        {
                            cleanedUp++;
                        }
                    }));
                }
                group.Spawn(async () =>
                {
                    await Tasklet.Yield();
                    throw new Boom("one");
                });
            });
            Assert.Equal("one", error.Message);
            Assert.All(siblings, s => Assert.Equal(TaskletState.Killed, s.State));
            Assert.Equal(3, cleanedUp);
        });
    }

    [Fact]
    public void KilledSiblings_FinishTheirCleanup_EvenWhenItParks()
    {
        // The group kills each child once: a second kill would cut the cleanup's own park short.
        Run(async () =>
        {
            bool cleanupDone = false;
            await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                group.Spawn(async () =>
                {
                    try
                    {
                        await Tasklet.Sleep(Forever);
                    }
                    catch (TaskletExit)
                    {
                        await Tasklet.Sleep(Ms(10)); // say, a polite goodbye on a socket
                        cleanupDone = true;
                        throw;
                    }
                });
                group.Spawn(async () =>
                {
                    await Tasklet.Yield();
                    throw new Boom("fail");
                });
            });
            Assert.True(cleanupDone);
        });
    }

    [Fact]
    public void SeveralChildrenFailingForReal_SurfaceAsAnAggregateException()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<AggregateException>(async () =>
            {
                await using var group = new TaskGroup("pair");
                // Both are already woken when the first fails: the kill lands after the second
                // has thrown, so both failures are real.
                group.Spawn(async () => { await Tasklet.Yield(); throw new Boom("first"); });
                group.Spawn(async () => { await Tasklet.Yield(); throw new Boom("second"); });
                // A sibling whose cleanup throws something else fails for real too.
                group.Spawn(async () =>
                {
                    try { await Tasklet.Sleep(Forever); }
                    finally { throw new InvalidOperationException("cleanup failed"); }
                });
            });
            Assert.Equal(["first", "second", "cleanup failed"], error.InnerExceptions.Select(e => e.Message));
            Assert.Contains("3 children of TaskGroup 'pair'", error.Message);
        });
    }

    [Fact]
    public void KillingTheParent_KillsTheChildren()
    {
        Run(async () =>
        {
            var children = new List<Tasklet>();
            var parent = Tasklet.Spawn(async () =>
            {
                await using var group = new TaskGroup();
                children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                await Tasklet.Sleep(Forever);
            }, "parent");
            await Tasklet.WaitAllParkedAsync();
            parent.Kill();
            await Assert.ThrowsAsync<TaskletKilledException>(async () => await parent);
            Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));
        });
    }

    [Fact]
    public void KillingTheParent_WhileItWaitsToLeave_KillsTheChildren_AndTheParentStaysKilled()
    {
        Run(async () =>
        {
            Tasklet? child = null;
            bool childCleanedUp = false;
            var parent = Tasklet.Spawn(async () =>
            {
                await using var group = new TaskGroup();
                child = group.SpawnTasklet(async () =>
                {
                    try { await Tasklet.Sleep(Forever); }
                    finally
                    {
                        await Tasklet.Sleep(Ms(5));
                        childCleanedUp = true;
                    }
                });
            });
            await Tasklet.WaitAllParkedAsync();
            Assert.Equal("TaskGroup", parent.WaitingOn?.Split(' ')[0]);
            parent.Kill();
            await parent.JoinAsync();
            Assert.Equal(TaskletState.Killed, parent.State);
            Assert.Equal(TaskletState.Killed, child!.State);
            Assert.True(childCleanedUp);
        });
    }

    [Fact]
    public void AnEnclosingDeadline_KillsTheChildren_AndItsTimeoutPropagates()
    {
        Run(async () =>
        {
            var children = new List<Tasklet>();
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(20)))
                {
                    await using var group = new TaskGroup();
                    children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                    await Tasklet.Sleep(Forever);
                }
            });
            Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));

            // The same when the deadline passes while the parent waits to leave the block.
            children.Clear();
            bool completed = await CancelScope.MoveOnAfterAsync(Ms(20), async () =>
            {
                await using var group = new TaskGroup();
                children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
            });
            Assert.False(completed);
            Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));
        });
    }

    [Fact]
    public void ADeadlineFoundPassedWhenTheParentStartsToWait_KillsTheChildren()
    {
        // The parent holds the loop past its deadline, so the deadline is found passed while its
        // wait in DisposeAsync registers: the children (one running, one not started yet) are
        // killed then, and the parent must be aborted once, not also woken by the last child.
        Run(async () =>
        {
            var children = new List<Tasklet>();
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(10)))
                {
                    await using var group = new TaskGroup();
                    children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                    await Tasklet.Yield();
                    children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                    Thread.Sleep(30);
                }
            });
            Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));

            // Only children that never ran: each ends at once when killed, the last one while
            // the parent's wait is still registering.
            children.Clear();
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(10)))
                {
                    await using var group = new TaskGroup();
                    children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                    children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                    Thread.Sleep(30);
                }
            });
            Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));
            await Tasklet.Sleep(Ms(5)); // nothing runs twice
        });
    }

    [Fact]
    public void AChild_MaySpawnIntoItsOwnGroup()
    {
        Run(async () =>
        {
            int ran = 0;
            await using (var group = new TaskGroup())
            {
                group.Spawn(async () =>
                {
                    await Tasklet.Yield();
                    ran++;
                    group.Spawn(async () =>
                    {
                        await Tasklet.Sleep(Ms(10));
                        ran++;
                        group.Spawn(async () => { await Tasklet.Yield(); ran++; });
                    });
                });
            }
            Assert.Equal(3, ran);
        });
    }

    [Fact]
    public void CancelAll_KillsTheChildren_AndLeavingThrowsNothing()
    {
        Run(async () =>
        {
            Tasklet? late = null;
            bool lateRan = false;
            var children = new List<Tasklet>();
            await using (var group = new TaskGroup())
            {
                children.Add(group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask()));
                children.Add(group.SpawnTasklet(async () =>
                {
                    await Tasklet.Sleep(Ms(5));
                    group.CancelAll(); // first one done wins
                }));
                await Tasklet.Sleep(Ms(20));
                Assert.True(group.IsCanceled);
                Assert.Equal(0, group.Count);
                late = group.SpawnTasklet(async () => { lateRan = true; await Tasklet.Yield(); });
            }
            Assert.Equal(TaskletState.Killed, children[0].State);
            Assert.Equal(TaskletState.Completed, children[1].State);
            Assert.Equal(TaskletState.Killed, late!.State);
            Assert.False(lateRan);
        });
    }

    [Fact]
    public void NestedGroups_InAChild_FailureTravelsUpAndKillsTheOuterSiblings()
    {
        Run(async () =>
        {
            Tasklet? outerSibling = null, innerSibling = null;
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var outer = new TaskGroup("outer");
                outerSibling = outer.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask());
                outer.Spawn(async () =>
                {
                    await using var inner = new TaskGroup("inner");
                    innerSibling = inner.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask());
                    inner.Spawn(async () => { await Tasklet.Sleep(Ms(5)); throw new Boom("deep"); });
                });
            });
            Assert.Equal("deep", error.Message);
            Assert.Equal(TaskletState.Killed, outerSibling!.State);
            Assert.Equal(TaskletState.Killed, innerSibling!.State);
        });
    }

    [Fact]
    public void NestedGroups_InTheSameBlock_AnOuterFailureCancelsTheInnerGroupToo()
    {
        Run(async () =>
        {
            Tasklet? innerChild = null;
            Exception? innerLeft = null;
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var outer = new TaskGroup("outer");
                outer.Spawn(async () => { await Tasklet.Sleep(Ms(10)); throw new Boom("outer child"); });
                try
                {
                    await using var inner = new TaskGroup("inner");
                    innerChild = inner.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask());
                }
                catch (Exception e)
                {
                    innerLeft = e;
                    throw;
                }
            });
            Assert.Equal("outer child", error.Message);
            Assert.Equal(TaskletState.Killed, innerChild!.State);
            Assert.IsType<TaskletExit>(innerLeft); // the outer group's cancellation, out of the inner block
        });
    }

    [Fact]
    public void NestedGroups_InTheSameBlock_AnInnerFailureReachesTheOuterBlock()
    {
        Run(async () =>
        {
            var error = await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var outer = new TaskGroup("outer");
                outer.Spawn(() => Tasklet.Sleep(Ms(10)).AsTask());
                await using var inner = new TaskGroup("inner");
                inner.Spawn(async () => { await Tasklet.Yield(); throw new Boom("inner child"); });
            });
            Assert.Equal("inner child", error.Message);
        });
    }

    [Fact]
    public void RunAsync_ABlockThatThrows_KillsTheChildrenFirst()
    {
        Run(async () =>
        {
            Tasklet? child = null;
            var error = await Assert.ThrowsAsync<Boom>(() => TaskGroup.RunAsync(async group =>
            {
                child = group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask());
                await Tasklet.Yield();
                throw new Boom("block");
            }));
            Assert.Equal("block", error.Message);
            Assert.Equal(TaskletState.Killed, child!.State);

            // A block failure and a child failure are both kept.
            var both = await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.RunAsync(async group =>
            {
                group.Spawn(async () =>
                {
                    try { await Tasklet.Sleep(Forever); }
                    finally { throw new InvalidOperationException("child cleanup"); }
                });
                await Tasklet.Yield();
                throw new Boom("block");
            }));
            Assert.Equal(["block", "child cleanup"], both.InnerExceptions.Select(e => e.Message));

            // A child failure that cancelled the block is thrown alone.
            var childOnly = await Assert.ThrowsAsync<Boom>(() => TaskGroup.RunAsync(async group =>
            {
                group.Spawn(async () => { await Tasklet.Yield(); throw new Boom("child"); });
                await Tasklet.Sleep(Forever);
            }));
            Assert.Equal("child", childOnly.Message);
        });
    }

    [Fact]
    public void ChildFailures_AreNotReportedAsUnhandled_TheGroupThrowsThem()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Run(async () =>
        {
            await Assert.ThrowsAsync<Boom>(async () =>
            {
                await using var group = new TaskGroup();
                group.Spawn(async () => { await Tasklet.Yield(); throw new Boom("owned"); });
            });
        }, reports);
        Assert.Empty(reports);
    }

    [Fact]
    public void AGroupNeverDisposed_IsReported_WithItsChildrensFailures_AndTheChildrenAreKilled()
    {
        var reports = new List<LoopExceptionEventArgs>();
        Tasklet? orphan = null;
        Run(async () =>
        {
            var parent = Tasklet.Spawn(async () =>
            {
                var group = new TaskGroup("forgotten");
                group.Spawn(async () => { await Tasklet.Yield(); throw new Boom("lost?"); });
                orphan = group.SpawnTasklet(() => Tasklet.Sleep(Forever).AsTask());
                await Tasklet.Yield();
                await Tasklet.Yield();
            });
            await parent.JoinAsync();
            await orphan!.JoinAsync();
        }, reports);
        Assert.Equal(TaskletState.Killed, orphan!.State);
        Assert.Contains(reports, r => r.Exception is InvalidOperationException e && e.Message.Contains("was never disposed"));
        Assert.Contains(reports, r => r.Exception is Boom { Message: "lost?" });
    }

    [Fact]
    public void Misuse_IsRefusedWithAClearError()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentNullException>(() => new TaskGroup().Spawn(null!));
            var group = new TaskGroup("g");
            var other = Tasklet.Spawn(async () => await group.DisposeAsync());
            await other.JoinAsync();
            Assert.Contains("must be disposed by its parent", other.Exception!.Message);
            await group.DisposeAsync();
            await group.DisposeAsync(); // twice is fine
            Assert.True(group.IsClosed);
            var closed = Assert.Throws<InvalidOperationException>(() => group.Spawn(() => Task.CompletedTask));
            Assert.Contains("is closed", closed.Message);
        }, reports: []);
    }

    [Fact]
    public void DisposingTheGroupBeforeAScopeOpenedInItsBlock_ThrowsTheOrderError_AndNothingElse()
    {
        Run(async () =>
        {
            var group = new TaskGroup("g");
            var scope = CancelScope.FailAfter(Forever);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await group.DisposeAsync());
            Assert.Contains("innermost first", e.Message);
            Assert.True(group.IsClosed);
            scope.Dispose();
            await Tasklet.Yield();
        }); // no "TaskGroup ... was never disposed" report when the test tasklet ends
    }

    [Fact]
    public void DisposingACanceledGroupInTheWrongOrder_DoesNotCancelTheParentsLaterParks()
    {
        Run(async () =>
        {
            var group = new TaskGroup("g");
            group.Spawn(() => throw new Boom("child failed"));
            var scope = CancelScope.FailAfter(Forever);
            var e = await Assert.ThrowsAsync<AggregateException>(async () => await group.DisposeAsync());
            Assert.Contains(e.InnerExceptions, x => x is InvalidOperationException && x.Message.Contains("innermost first"));
            Assert.Contains(e.InnerExceptions, x => x is Boom);
            Assert.DoesNotContain("2 children", e.Message); // one child failed; the other error is the misuse
            scope.Dispose();
            await Tasklet.Yield(); // the group's cancelled scope was closed with the group: this park is not cancelled
        });
    }

    [Fact]
    public void CreatingAGroupOutsideATasklet_IsRefused()
    {
        using var loop = new EventLoop();
        var error = Assert.Throws<InvalidOperationException>(() => new TaskGroup());
        Assert.Contains("tasklet", error.Message);
        OtherThread.Call(() => new TaskGroup());
    }

    [Fact]
    public void DisposingTheLoop_UnwindsTheParentAndTheChildren()
    {
        var loop = new EventLoop();
        var reports = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => reports.Add(e);
        var children = new List<Tasklet>();
        int cleanups = 0;
        var parent = loop.Spawn(async () =>
        {
            await using var group = new TaskGroup();
            for (int i = 0; i < 3; i++)
            {
                children.Add(group.SpawnTasklet(async () =>
                {
                    try { await Tasklet.Sleep(Forever); }
                    finally { cleanups++; }
                }));
            }
            await Tasklet.Sleep(Forever);
        });
        loop.CallLater(TimeSpan.FromMilliseconds(5), loop.Stop);
        loop.Run();
        loop.Dispose();
        Assert.Equal(TaskletState.Killed, parent.State);
        Assert.All(children, c => Assert.Equal(TaskletState.Killed, c.State));
        Assert.Equal(3, cleanups);
        Assert.Empty(reports);
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void AThousandChildren_AllRun_AndNothingIsLeftOpen()
    {
        Run(async loop =>
        {
            int done = 0;
            await using (var group = new TaskGroup())
            {
                for (int i = 0; i < 1000; i++)
                {
                    group.Spawn(async () => { await Tasklet.Sleep(Ms(1)); done++; });
                }
            }
            Assert.Equal(1000, done);
            Assert.Equal(1, loop.LiveTaskletCount); // the test itself
        });
    }
}
