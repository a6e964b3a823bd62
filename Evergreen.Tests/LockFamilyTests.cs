using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>
/// One of the lock family as the shared suite sees it: something one tasklet holds at a time
/// (a lock, or a semaphore of one permit), handed over in FIFO order.
/// </summary>
public sealed record LockUnderTest(
    object Primitive,
    string Name,
    Func<TimeSpan?, ValueTask<bool>> AcquireAsync,
    Func<bool> TryAcquire,
    Func<ValueTask<AsyncReleaser>> LockAsync,
    Action Release,
    Func<bool> IsHeld,
    Func<int> WaitingCount,
    Func<IReadOnlyList<Tasklet>> Waiters)
{
    public override string ToString() => Primitive.ToString() ?? Name;
}

/// <summary>
/// What every member of the lock family does, written once (as System.Threading.Channels'
/// ChannelTestBase): FIFO handoff without barging, timeouts that return false and leave nothing,
/// kills and expired scopes at the wait, a handoff that survives a kill. Each primitive derives
/// with a factory; its own file keeps what is specific (recursion, ownership, counts, bounds).
/// </summary>
public abstract class LockFamilyTests
{
    /// <summary>A fresh, free primitive (created in a tasklet).</summary>
    protected abstract LockUnderTest Create();

    [Fact]
    public void AcquireWithTimeout_WhenHeld_ReturnsFalse_AndLeavesNoTrace()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            var other = Tasklet.Spawn(async () =>
            {
                Assert.False(await lk.AcquireAsync(Ms(5)));
                Assert.False(await lk.AcquireAsync(TimeSpan.Zero));
            });
            await other;
            Assert.Equal(0, lk.WaitingCount());
            Assert.True(lk.IsHeld());
            lk.Release();
            Assert.False(lk.IsHeld());
            Assert.Throws<ArgumentOutOfRangeException>(() => lk.AcquireAsync(Ms(-5)));
            Assert.True(await lk.AcquireAsync(Timeout.InfiniteTimeSpan));
            lk.Release();
        });
    }

    [Fact]
    public void Release_WithWaiters_HandsItToTheFirst_InFifoOrder_WithoutBarging()
    {
        Run(async () =>
        {
            var lk = Create();
            var order = new List<int>();
            await lk.AcquireAsync(null);
            var waiters = Enumerable.Range(1, 4).Select(i => Tasklet.Spawn(async () =>
            {
                using (await lk.LockAsync())
                {
                    order.Add(i);
                    await Tasklet.Yield();
                }
            })).ToList();
            await Tasklet.WaitAllParkedAsync();
            Assert.Equal(4, lk.WaitingCount());
            Assert.Equal(waiters, lk.Waiters());
            Assert.Equal(TaskletState.Parked, waiters[0].State);
            Assert.Contains(lk.Name, waiters[0].WaitingOn);
            lk.Release();
            Assert.True(lk.IsHeld());         // handed over, not freed
            Assert.False(lk.TryAcquire());    // no barging
            Assert.Equal(3, lk.WaitingCount());
            foreach (var w in waiters) await w;
            Assert.Equal([1, 2, 3, 4], order);
            Assert.False(lk.IsHeld());
        });
    }

    [Fact]
    public void TryAcquire_FailsWhileOthersWait_EvenIfItWasJustReleased()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            var waiter = Tasklet.Spawn(async () => { await lk.AcquireAsync(null); lk.Release(); });
            await Tasklet.WaitAllParkedAsync();
            lk.Release();
            Assert.False(lk.TryAcquire());
            await waiter;
            Assert.True(lk.TryAcquire());
            lk.Release();
        });
    }

    [Fact]
    public void KilledWaiter_LeavesNoTrace_AndTheNextWaiterIsServed()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            var first = Tasklet.Spawn(async () => { await lk.AcquireAsync(null); lk.Release(); });
            var second = Tasklet.Spawn(async () => { await lk.AcquireAsync(null); lk.Release(); });
            await Tasklet.WaitAllParkedAsync();
            first.Kill();
            await first.JoinAsync();
            Assert.Equal(TaskletState.Killed, first.State);
            Assert.Equal(1, lk.WaitingCount());
            lk.Release();
            await second;
            Assert.False(lk.IsHeld());
        });
    }

    [Fact]
    public void ReleaseRacingAKill_HandsItToTheNextWaiter()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            var got = new List<string>();
            var first = Tasklet.Spawn(async () => { await lk.AcquireAsync(null); got.Add("first"); lk.Release(); });
            var second = Tasklet.Spawn(async () => { await lk.AcquireAsync(null); got.Add("second"); lk.Release(); });
            await Tasklet.WaitAllParkedAsync();
            first.Kill();   // the same loop step: the kill first ...
            lk.Release();   // ... so the release skips it
            Assert.Equal(0, lk.WaitingCount());
            Assert.True(lk.IsHeld());
            await second;
            await first.JoinAsync();
            Assert.Equal(["second"], got);
            Assert.False(lk.IsHeld());
        });
    }

    [Fact]
    public void KillAfterTheHandoff_KeepsIt_UntilTheUsingBlockReleasesIt()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            var log = new List<string>();
            var first = Tasklet.Spawn(async () =>
            {
                using (await lk.LockAsync())
                {
                    log.Add("got it");
                    await Tasklet.Yield(); // the kill lands here
                    log.Add("not reached");
                }
            });
            var second = Tasklet.Spawn(async () => { using (await lk.LockAsync()) log.Add("second"); });
            await Tasklet.WaitAllParkedAsync();
            lk.Release();   // handed to first ...
            first.Kill();   // ... which is killed before it runs
            await first.JoinAsync();
            await second;
            Assert.Equal(["got it", "second"], log);
            Assert.False(lk.IsHeld());
        });
    }

    [Fact]
    public void ExpiredScope_AtTheWait_ThrowsTimeout_AndHoldsNothing()
    {
        Run(async () =>
        {
            var lk = Create();
            await lk.AcquireAsync(null);
            await Tasklet.Spawn(async () =>
            {
                await Assert.ThrowsAsync<TimeoutException>(async () =>
                {
                    using (CancelScope.FailAfter(Ms(2))) await lk.LockAsync();
                });
                Assert.False(await CancelScope.MoveOnAfterAsync(Ms(2), async () => { await lk.AcquireAsync(null); }));
            });
            Assert.Equal(0, lk.WaitingCount());
            lk.Release();
            Assert.False(lk.IsHeld());
        });
    }
}

public class AsyncLockFamilyTests : LockFamilyTests
{
    protected override LockUnderTest Create()
    {
        var lk = new AsyncLock();
        return new(lk, $"AsyncLock #{lk.Id}", t => lk.AcquireAsync(t), lk.TryAcquire, lk.LockAsync, lk.Release,
            () => lk.IsLocked, () => lk.WaitingCount, () => lk.Waiters);
    }
}

public class AsyncRLockFamilyTests : LockFamilyTests
{
    protected override LockUnderTest Create()
    {
        var lk = new AsyncRLock();
        return new(lk, $"AsyncRLock #{lk.Id}", t => lk.AcquireAsync(t), lk.TryAcquire, lk.LockAsync, lk.Release,
            () => lk.IsLocked, () => lk.WaitingCount, () => lk.Waiters);
    }
}

public class AsyncSemaphoreFamilyTests : LockFamilyTests
{
    protected override LockUnderTest Create()
    {
        var sem = new AsyncSemaphore(1);
        return new(sem, $"AsyncSemaphore #{sem.Id}", t => sem.AcquireAsync(t), sem.TryAcquire, sem.LockAsync, sem.Release,
            () => sem.CurrentCount == 0, () => sem.WaitingCount, () => sem.Waiters);
    }
}

public class AsyncBoundedSemaphoreFamilyTests : LockFamilyTests
{
    protected override LockUnderTest Create()
    {
        var sem = new AsyncBoundedSemaphore(1);
        return new(sem, $"AsyncBoundedSemaphore #{sem.Id}", t => sem.AcquireAsync(t), sem.TryAcquire, sem.LockAsync, sem.Release,
            () => sem.CurrentCount == 0, () => sem.WaitingCount, () => sem.Waiters);
    }
}
