// Tasklet.WaitAllParkedAsync: trio's wait_all_tasks_blocked, for tests.
//
// "Every other tasklet is parked" is read off the ready queue: a tasklet that is not running and
// has nothing in the ready queue is waiting on something (a park, a timer, I/O, a foreign Task),
// and a yield or a just-spawned tasklet sits in the ready queue, so it is not parked. The waiter
// itself yields in a loop and looks at the queue each time it runs; only other waiters' own yields
// are discounted, so two waiters do not keep each other awake forever. It costs nothing when
// unused: no hook in the run loop, one counter on the loop.

namespace Evergreen;

public partial class Tasklet
{
    /// <summary>
    /// Parks the current tasklet until every other tasklet of its loop is parked and nothing else
    /// is ready (trio's <c>wait_all_tasks_blocked</c>): for tests that mean "once the others are
    /// all waiting", instead of counting <see cref="Yield"/>s or sleeping.
    /// </summary>
    /// <remarks>
    /// <para>What counts as <b>ready</b>: anything in the loop's ready queue — a tasklet that
    /// yielded (<see cref="Yield"/>, <c>Sleep(TimeSpan.Zero)</c>), a tasklet spawned but not yet
    /// started, a woken tasklet not yet resumed, a <see cref="EventLoop.CallSoon"/> callback (and a
    /// due timer's callback once it is queued). A tasklet in a yield loop is never parked, so a
    /// wait beside it never returns (end it with a kill or a cancel scope).</para>
    /// <para>What counts as <b>parked</b>: everything else — a park on a primitive, a sleep or
    /// timeout on a timer, I/O, a thread-pool offload, an ordinary <see cref="Task"/> awaited from
    /// a tasklet, and work from <see cref="EventLoop.CallFromThread"/> not yet taken in by the
    /// loop. Timers and I/O are not waited for: this returns while they are pending.</para>
    /// <para>Two or more callers: each discounts the others' waits, and they return one at a time
    /// in the order they first became due (in practice, the order they called): the first returns
    /// as soon as everything else is parked; a later one returns only once the earlier one has
    /// parked again (or ended) with nothing ready. There is no <c>cushion</c> as in trio.</para>
    /// <para>Always a yield point (it yields at least once); a kill (<see cref="TaskletExit"/>) or an
    /// expired <see cref="CancelScope"/> (<see cref="TimeoutException"/>) ends it, leaving nothing
    /// behind. Loop thread only. Allocates (it is a test helper, not a hot path).</para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">Not called from a tasklet.</exception>
    public static ValueTask WaitAllParkedAsync()
    {
        var t = RequireCurrent("Tasklet.WaitAllParkedAsync");
        return WaitAllParkedCore(t._ctx!.Loop);
    }

    private static async ValueTask WaitAllParkedCore(EventLoop loop)
    {
        while (true)
        {
            loop._waitAllParkedYielding++;
            try
            {
                await Yield();
            }
            finally
            {
                loop._waitAllParkedYielding--;
            }
            // Running now, so not in the queue: what is left is either another waiter's yield or
            // real work.
            if (loop._ready.Count == loop._waitAllParkedYielding) return;
        }
    }
}
