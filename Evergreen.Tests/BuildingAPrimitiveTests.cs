using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>
/// The README's "Building a primitive" example (Inbox.cs), built on public API only, behaves like
/// Evergreen's own primitives: FIFO, a timeout by the rule, kills that leave no trace, no allocation.
/// </summary>
public class BuildingAPrimitiveTests
{
    [Fact]
    public void TakeAsync_WaitsForPut_AndWaitersAreServedFirstComeFirstServed()
    {
        Run(async () =>
        {
            var inbox = new Inbox<string>();
            var got = new List<string>();
            var takers = Enumerable.Range(0, 3).Select(i => Tasklet.Spawn(async () => got.Add($"{i}:{await inbox.TakeAsync()}"))).ToArray();
            await Tasklet.Yield();
            Assert.Equal(3, inbox.Waiting);
            inbox.Put("a");
            inbox.Put("b");
            inbox.Put("c");
            inbox.Put("d"); // nobody waits: queued
            foreach (var t in takers) await t;
            Assert.Equal(["0:a", "1:b", "2:c"], got);
            Assert.Equal("d", await inbox.TakeAsync());
        });
    }

    [Fact]
    public void TakeAsync_ThatTimesOut_ThrowsATimeoutException_AndTakesNothing()
    {
        Run(async () =>
        {
            var inbox = new Inbox<int>();
            await Assert.ThrowsAsync<TimeoutException>(async () => await inbox.TakeAsync(Ms(5)));
            Assert.Equal(0, inbox.Waiting);
            inbox.Put(1);
            Assert.Equal(1, await inbox.TakeAsync());
        });
    }

    [Fact]
    public void AKilledTaker_LeavesTheLine_AndTheNextPutGoesToTheNext()
    {
        Run(async () =>
        {
            var inbox = new Inbox<int>();
            var first = Tasklet.Spawn(async () => await inbox.TakeAsync());
            var second = Tasklet.Spawn(async () => await inbox.TakeAsync());
            await Tasklet.Yield();
            first.Kill(); // its abort takes it out of the line at once
            Assert.Equal(1, inbox.Waiting);
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
            inbox.Put(2);
            Assert.Equal(2, await second);
            Assert.Equal(0, inbox.Waiting);
        });
    }

    [Fact]
    public void AParkedTake_AllocatesNothing_InSteadyState()
    {
        Run(async () =>
        {
            var inbox = new Inbox<int>();
            var reply = new Inbox<int>();
            const int rounds = 1000;
            var echo = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 2 * rounds; i++) reply.Put(await inbox.TakeAsync());
            });
            long wrong = 0;
            async Task Rounds()
            {
                for (int i = 0; i < rounds; i++)
                {
                    inbox.Put(i);
                    wrong += await reply.TakeAsync() - i; // no Assert in the loop: xunit's comparers allocate
                }
            }
            await Rounds(); // warm up: the pools, the JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            await Rounds();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await echo;
            Assert.Equal(0, wrong);
            Assert.True(allocated < 1024, $"{allocated} bytes for {rounds} round trips");
        });
    }
}
