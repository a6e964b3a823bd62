using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>Tasklet.WaitAllParkedAsync (trio's wait_all_tasks_blocked): "when every other tasklet is parked".</summary>
public class WaitAllParkedTests
{
    [Fact]
    public void ReturnsOnlyWhenEveryOtherTaskletIsParked_HoweverManyStepsTheyTakeToGetThere()
    {
        Run(async () =>
        {
            var queue = new WaitQueue("the gate");
            var steps = new int[3];
            var workers = Enumerable.Range(0, 3).Select(i => Tasklet.Spawn(async () =>
            {
                // Each takes a different number of steps before it parks: no fixed yield count fits.
                for (int s = 0; s < 5 * (i + 1); s++)
                {
                    steps[i]++;
                    await Tasklet.Yield();
                }
                await queue.ParkAsync();
            })).ToList();
            await Tasklet.WaitAllParkedAsync();
            Assert.Equal([5, 10, 15], steps);
            Assert.Equal(3, queue.Count);
            Assert.All(workers, w => Assert.Equal(TaskletState.Parked, w.State));
            queue.UnparkAll();
            foreach (var w in workers) await w;
        });
    }

    [Fact]
    public void TimersAndSleepsDoNotCountAsReady_ASleeperIsParked()
    {
        Run(async () =>
        {
            bool woke = false;
            var sleeper = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                await Tasklet.Sleep(TimeSpan.FromMilliseconds(50));
                woke = true;
            });
            await Tasklet.WaitAllParkedAsync();
            Assert.Equal(TaskletState.Parked, sleeper.State);
            Assert.False(woke);
            await sleeper;
            Assert.True(woke);
        });
    }

    [Fact]
    public void APendingCallSoonCountsAsReady_TheTaskletItWakesIsWaitedFor()
    {
        Run(async loop =>
        {
            var queue = new WaitQueue("the gate");
            bool ran = false;
            var waiter = Tasklet.Spawn(async () =>
            {
                await queue.ParkAsync();
                await Tasklet.Yield();
                ran = true;
                await queue.ParkAsync();
            });
            await Tasklet.Yield();
            loop.CallSoon(() => queue.UnparkOne());
            await Tasklet.WaitAllParkedAsync();
            Assert.True(ran);
            Assert.Equal(TaskletState.Parked, waiter.State);
            queue.UnparkAll();
            await waiter;
        });
    }

    [Fact]
    public void WithNothingElseAlive_ReturnsAtOnce()
    {
        Run(async () =>
        {
            await Tasklet.WaitAllParkedAsync();
            await Tasklet.WaitAllParkedAsync();
        });
    }

    [Fact]
    public void TwoCallers_ReturnOneAtATime_InTheOrderTheyCalled_EachOnceTheOtherIsParked()
    {
        Run(async () =>
        {
            var order = new List<string>();
            var queue = new WaitQueue("the gate");
            var a = Tasklet.Spawn(async () =>
            {
                await Tasklet.WaitAllParkedAsync();
                order.Add("a");
                await queue.ParkAsync();
                order.Add("a woken");
            }, "a");
            var b = Tasklet.Spawn(async () =>
            {
                await Tasklet.WaitAllParkedAsync();
                order.Add("b");
                // b wakes a; a runs before the test's own wait returns.
                queue.UnparkOne();
            }, "b");
            await Tasklet.Yield(); // a and b call first
            await Tasklet.WaitAllParkedAsync();
            order.Add("test");
            await a;
            await b;
            Assert.Equal(["a", "b", "a woken", "test"], order);
        });
    }

    [Fact]
    public void AYieldingLoopNeverCountsAsParked_AndAKillEndsTheWait()
    {
        Run(async () =>
        {
            bool spin = true;
            var spinner = Tasklet.Spawn(async () =>
            {
                while (spin) await Tasklet.Yield();
            }, "spinner");
            var waiter = Tasklet.Spawn(async () => await Tasklet.WaitAllParkedAsync(), "waiter");
            for (int i = 0; i < 50; i++) await Tasklet.Yield();
            Assert.False(waiter.IsDone);
            waiter.Kill();
            await waiter.JoinAsync();
            Assert.Equal(TaskletState.Killed, waiter.State);
            spin = false;
            await spinner;
        });
    }

    [Fact]
    public void AnExpiredScopeEndsTheWait_WithTimeoutException()
    {
        Run(async () =>
        {
            bool spin = true;
            var spinner = Tasklet.Spawn(async () =>
            {
                while (spin) await Tasklet.Yield();
            }, "spinner");
            using (CancelScope.FailAfter(TimeSpan.FromMilliseconds(20)))
            {
                await Assert.ThrowsAnyAsync<TimeoutException>(async () => await Tasklet.WaitAllParkedAsync());
            }
            spin = false;
            await spinner;
        });
    }

    [Fact]
    public void OutsideATasklet_IsRefused()
    {
        using var loop = new EventLoop();
        var e = Assert.Throws<InvalidOperationException>(() => Tasklet.WaitAllParkedAsync());
        Assert.Contains("WaitAllParkedAsync", e.Message);
    }
}
