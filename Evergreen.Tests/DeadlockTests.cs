namespace Evergreen.Tests;

public class DeadlockTests
{
    [Fact]
    public void TwoTaskletsAwaitingEachOther_AreReportedAsADeadlock()
    {
        var loop = new EventLoop();
        try
        {
            Tasklet? b = null;
            var a = loop.Spawn(async () => { await Tasklet.Yield(); await b!; }, "alice");
            b = loop.Spawn(async () => { await Tasklet.Yield(); await a; }, "bob");
            var e = Assert.Throws<DeadlockException>(loop.Run);
            Assert.Equal(2, e.Tasklets.Count);
            Assert.Contains("tasklet 'alice'", e.Message);
            Assert.Contains("waiting on tasklet 'bob'", e.Message);
            Assert.Contains("waiting on tasklet 'alice'", e.Message);
            Assert.All(e.Tasklets, t => Assert.Equal(TaskletState.Parked, t.State));
        }
        finally
        {
            loop.Dispose(); // kills and unwinds the stuck tasklets
        }
        Assert.Equal(0, loop.HandleCount);
    }

    [Fact]
    public void ParkWithNothingToWakeIt_IsADeadlock_NamingWhatItWaitsOn()
    {
        var e = Assert.Throws<DeadlockException>(() => EventLoop.Run(async () =>
        {
            var gate = new WaitQueue("a gate nobody opens");
            await gate.ParkAsync();
        }));
        var stuck = Assert.Single(e.Tasklets);
        Assert.Equal("main", stuck.Name);
        Assert.Contains("waiting on a gate nobody opens", e.Message);
    }

    /// <summary>
    /// The hang, at its root: code a tasklet started and did not await parks it, the
    /// tasklet's own next park is refused ("waits on one thing at a time") and it ends. The park
    /// it left ends with it, so whoever awaits that code hears of it instead of waiting forever.
    /// </summary>
    [Fact]
    public void ATaskletEndingWhileCodeItLeftRunningHoldsItsPark_AbortsThatPark_AndItsAwaiterGetsTheError()
    {
        var reports = new List<LoopExceptionEventArgs>();
        TestLoop.Run(async () =>
        {
            var gate = new WaitQueue("a gate nobody opens");
            ValueTask<int> slept = default;
            ValueTask<bool> gated = default;
            async ValueTask<int> SleepThenAnswer()
            {
                await Tasklet.Sleep(TimeSpan.FromHours(1));
                return 42;
            }
            var sleeper = Tasklet.Spawn(async () =>
            {
                slept = SleepThenAnswer(); // parks this tasklet, and is not awaited
                await Tasklet.Yield();     // refused: the tasklet is already parked
            }, "sleeper");
            async ValueTask<bool> WaitAtTheGate() => await gate.ParkAsync();
            var gatekeeper = Tasklet.Spawn(() =>
            {
                gated = WaitAtTheGate();   // parks this tasklet in the gate's queue, and is not awaited
                return Task.CompletedTask; // ends at once, still parked there
            }, "gatekeeper");
            await sleeper.JoinAsync();
            await gatekeeper.JoinAsync();
            Assert.Equal(TaskletState.Failed, sleeper.State);
            Assert.Equal(TaskletState.Completed, gatekeeper.State);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await slept);
            Assert.Contains("tasklet 'sleeper'", e.Message);
            Assert.Contains("ended while parked on sleep", e.Message);
            Assert.True(gate.IsEmpty); // the owner was told: no ended tasklet stays in its queue
            e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await gated);
            Assert.Contains("tasklet 'gatekeeper'", e.Message);
        }, reports);
        var report = Assert.Single(reports);
        Assert.Equal("sleeper", report.Tasklet?.Name); // the sleeper's own failure: its refused park
        Assert.Contains("waits on one thing at a time", report.Exception.Message);
    }

    [Fact]
    public void ASleeperOrAForeignWait_IsNotADeadlock()
    {
        EventLoop.Run(async () =>
        {
            var gate = new WaitQueue();
            var waiter = Tasklet.Spawn(async () => await gate.ParkAsync());
            await Tasklet.Sleep(TimeSpan.FromMilliseconds(5));
            await Task.Delay(5);
            gate.UnparkOne();
            await waiter;
        });
    }
}
