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
