// A DNS request: one uv_getaddrinfo or uv_getnameinfo call, parked on by one tasklet.
//
// libuv runs the lookup on its thread pool and calls back on the loop. The managed node is a
// ParkedOperation (Park/ParkedOperation.cs): the callback copies what lives in the native request
// and completes it; the result is produced in Finish, on the tasklet, so nothing runs from inside
// the native callback but a copy and a wake.
//
// A kill or an expired scope ends the wait at once: TryRecall calls uv_cancel and says the request
// cannot be recalled, so the base detaches it. The native request cannot be freed then, because
// libuv still owns it: whether the cancel took (the callback comes with UV_EAI_CANCELED) or came
// too late (the lookup is running, uv_cancel says EBUSY, and the callback comes when it ends), the
// callback always comes, and it alone frees the native memory (and any addrinfo list, in OnIdle).
// The loop stays alive until then (libuv counts the request as active), so a test's loop ends only
// when nothing is left behind. If the park cannot begin after the lookup started (misuse: the
// tasklet already waits on something), the request is cancelled and the node stays idle: its
// callback, finding it so, just frees it.
//
// Must never: free the native request before its callback; reuse a node before the base says it
// is idle; run user code from the callback.

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// A libuv DNS request (a request: one per operation, its managed node pooled per thread) that
/// parks the calling tasklet until its callback. <typeparamref name="TSelf"/> is the concrete
/// request type, for its pool.
/// </summary>
internal abstract unsafe class DnsRequest<TSelf, TResult> : ParkedOperation<TResult>
    where TSelf : DnsRequest<TSelf, TResult>, new()
{
    private const int MaxPooled = 64;
    [ThreadStatic] private static WaitList<TSelf> t_free;

    private IntPtr _req;        // the native request, from Start until its callback
    private GCHandle _self;     // the native request's data: this node
    private EventLoop? _loop;

    /// <summary>The callback's status: 0, or a negative libuv error (<c>UV_EAI_*</c>).</summary>
    protected int Status { get; private set; }

    /// <summary>What is looked up (a host name, an address), for messages.</summary>
    protected string Target { get; private set; } = "";

    /// <summary>The loop the request runs on.</summary>
    protected EventLoop Loop => _loop!;

    /// <summary>A node from this thread's pool, for <paramref name="target"/>.</summary>
    protected static TSelf Rent(string target)
    {
        var node = t_free.TakeFirst() ?? new TSelf();
        node.Target = target;
        node.Status = 0;
        return node;
    }

    /// <summary>Allocates the native request of <paramref name="type"/>, its data pointing at this node.</summary>
    protected IntPtr AllocNative(EventLoop loop, UvReqType type)
    {
        Debug.Assert(_req == IntPtr.Zero);
        _loop = loop;
        _req = (IntPtr)NativeMemory.AllocZeroed(LibUvNet.uv_req_size(type));
        DnsRequests.t_outstanding++;
        _self = GCHandle.Alloc(this);
        LibUvNet.uv_req_set_data(_req, GCHandle.ToIntPtr(_self));
        return _req;
    }

    /// <summary>The start call failed synchronously (no callback will come): free everything.</summary>
    protected void FailedStart()
    {
        FreeNative();
        OnIdle();
    }

    /// <summary>The request is started: parks the current tasklet on it and returns the awaitable.</summary>
    protected ValueTask<TResult> Park(string member)
    {
        try
        {
            return ParkAsync(member);
        }
        catch
        {
            // Nobody will wait: the node stays idle, and the callback frees it whenever it comes.
            LibUvNet.uv_cancel(_req);
            throw;
        }
    }

    /// <summary>The node of a native request, in its callback.</summary>
    protected static TSelf FromNative(IntPtr req) => (TSelf)GCHandle.FromIntPtr(LibUvNet.uv_req_get_data(req)).Target!;

    /// <summary>
    /// The callback came with <paramref name="status"/>, after the subclass copied what lives in the
    /// native request (<see cref="Reset"/> frees what nobody read): frees the native request and
    /// completes the wait (a detached one drops it). The node may be back in the pool afterwards:
    /// touch nothing.
    /// </summary>
    protected void OnCallback(int status)
    {
        FreeNative();
        Status = status;
        if (!IsBusy)
        {
            OnIdle(); // nobody ever parked on it
            return;
        }
        Complete();
    }

    /// <summary>The result, from the callback's outcome; runs on the caller's tasklet, once.</summary>
    protected abstract TResult Produce();

    protected sealed override TResult Finish(bool completed) => Produce();

    /// <summary>Drops what the last request held (called before the node is pooled).</summary>
    protected abstract void Reset();

    protected sealed override bool TryRecall()
    {
        // 0: the callback comes with UV_EAI_CANCELED; EBUSY: it comes when the lookup ends.
        if (_req != IntPtr.Zero) LibUvNet.uv_cancel(_req);
        return false;
    }

    private void FreeNative()
    {
        if (_req == IntPtr.Zero) return;
        NativeMemory.Free((void*)_req);
        DnsRequests.t_outstanding--;
        _req = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    protected sealed override void OnIdle()
    {
        Debug.Assert(_req == IntPtr.Zero);
        Reset();
        _loop = null;
        Target = "";
        if (t_free.Count >= MaxPooled) return;
        t_free.AddLast((TSelf)this);
    }
}

/// <summary>Counts the native DNS requests of this thread that libuv has not called back yet (for tests).</summary>
internal static class DnsRequests
{
    [ThreadStatic] internal static int t_outstanding;

    /// <summary>Native requests allocated on this thread and not yet freed by their callback.</summary>
    internal static int Outstanding => t_outstanding;
}
