// A DNS request: one uv_getaddrinfo or uv_getnameinfo call, parked on by one tasklet.
//
// libuv runs the lookup on its thread pool and calls back on the loop. The managed node is at
// once the park's owner and the ValueTask source the caller awaits (as in Offload): it forwards
// the await to the tasklet's own park and produces the result in GetResult, on the tasklet, so
// nothing runs from inside the native callback but a copy and a wake.
//
// A kill or an expired scope ends the wait at once: AbortPark marks the node abandoned and calls
// uv_cancel. The native request cannot be freed then, because libuv still owns it: whether the
// cancel took (the callback comes with UV_EAI_CANCELED) or came too late (the lookup is running,
// uv_cancel says EBUSY, and the callback comes when it ends), the callback always comes, and it
// alone frees the native memory and any addrinfo list. The loop stays alive until then (libuv
// counts the request as active), so a test's loop ends only when nothing is left behind.
//
// Must never: free the native request before its callback; reuse a node before both the callback
// came and the caller's GetResult ran (either order happens: an aborted caller resumes after or
// before the late callback); run user code from the callback.

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Evergreen.Native;

/// <summary>
/// A libuv DNS request (a request: one per operation, its managed node pooled per thread) that
/// parks the calling tasklet until its callback. <typeparamref name="TSelf"/> is the concrete
/// request type, for its pool.
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
internal abstract unsafe class DnsRequest<TSelf, TResult> : IParkOwner, IValueTaskSource<TResult>
    where TSelf : DnsRequest<TSelf, TResult>, new()
{
    private const int MaxPooled = 64;
    [ThreadStatic] private static TSelf? t_free;
    [ThreadStatic] private static int t_freeCount;

    private IntPtr _req;        // the native request, from Start until its callback
    private GCHandle _self;     // the native request's data: this node
    private Tasklet? _tasklet;
    private EventLoop? _loop;
    private short _token;
    private bool _abandoned;    // the wait ended first (kill, scope): drop the outcome
    private bool _finished;     // the callback came (the native request is freed)
    private bool _handedBack;   // the caller is done with the node
    private TSelf? _nextFree;

    /// <summary>The callback's status: 0, or a negative libuv error (<c>UV_EAI_*</c>).</summary>
    protected int Status { get; private set; }

    /// <summary>What is looked up (a host name, an address), for messages.</summary>
    protected string Target { get; private set; } = "";

    /// <summary>The loop the request runs on.</summary>
    protected EventLoop Loop => _loop!;

    /// <summary>A node from this thread's pool, for <paramref name="target"/>.</summary>
    protected static TSelf Rent(string target)
    {
        var node = t_free;
        if (node is not null)
        {
            t_free = node._nextFree;
            t_freeCount--;
            node._nextFree = null;
        }
        else
        {
            node = new TSelf();
        }
        node.Target = target;
        node._abandoned = node._finished = node._handedBack = false;
        node.Status = 0;
        return node;
    }

    /// <summary>Allocates the native request of <paramref name="type"/>, its data pointing at this node.</summary>
    protected IntPtr AllocNative(EventLoop loop, UvReqType type)
    {
        Debug.Assert(_req == IntPtr.Zero);
        _loop = loop;
        _req = (IntPtr)NativeMemory.AllocZeroed(LibUv.uv_req_size(type));
        DnsRequests.t_outstanding++;
        _self = GCHandle.Alloc(this);
        LibUv.uv_req_set_data(_req, GCHandle.ToIntPtr(_self));
        return _req;
    }

    /// <summary>The start call failed synchronously (no callback will come): free everything.</summary>
    protected void FailedStart()
    {
        FreeNative();
        _finished = _handedBack = true;
        Recycle();
    }

    /// <summary>The request is started: parks <paramref name="tasklet"/> on it and returns the awaitable.</summary>
    protected ValueTask<TResult> Park(Tasklet tasklet)
    {
        try
        {
            tasklet.BeginPark(this, -1, yielding: false);
        }
        catch
        {
            // Nobody will wait: the callback frees the request whenever it comes.
            _abandoned = _handedBack = true;
            LibUv.uv_cancel(_req);
            throw;
        }
        _tasklet = tasklet;
        _token = tasklet._version;
        return new ValueTask<TResult>(this, _token);
    }

    /// <summary>The node of a native request, in its callback.</summary>
    protected static TSelf FromNative(IntPtr req) => (TSelf)GCHandle.FromIntPtr(LibUv.uv_req_get_data(req)).Target!;

    /// <summary>
    /// The callback came with <paramref name="status"/> (the subclass has copied what lives in the
    /// native request): frees the native request, then wakes the caller and returns true, or
    /// returns false when the caller is gone (the node may be back in the pool: touch nothing).
    /// </summary>
    protected bool Finish(int status)
    {
        FreeNative();
        Status = status;
        _finished = true;
        if (_abandoned)
        {
            if (_handedBack) Recycle();
            return false;
        }
        _tasklet!.Unpark();
        return true;
    }

    /// <summary>The result, from the callback's outcome; runs on the caller's tasklet, once.</summary>
    protected abstract TResult Produce();

    /// <summary>Drops what the last request held (called before the node is pooled).</summary>
    protected abstract void Reset();

    void IParkOwner.AbortPark(Tasklet tasklet)
    {
        _abandoned = true;
        if (!_finished) LibUv.uv_cancel(_req); // 0: the callback comes with UV_EAI_CANCELED; EBUSY: it comes when the lookup ends
    }

    private IValueTaskSource<bool> TaskletPark => _tasklet!;

    public ValueTaskSourceStatus GetStatus(short token) => TaskletPark.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        TaskletPark.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        try
        {
            TaskletPark.GetResult(token); // throws the kill or the scope's timeout
        }
        catch
        {
            HandBack();
            throw;
        }
        if (!_finished)
        {
            // Tasklet.Unpark from outside: the lookup goes on without a caller.
            _abandoned = true;
            LibUv.uv_cancel(_req);
            HandBack();
            throw new InvalidOperationException(
                $"a tasklet waiting for {this} was woken by something other than the lookup (Tasklet.Unpark?); the lookup was abandoned.");
        }
        try
        {
            return Produce();
        }
        finally
        {
            HandBack();
        }
    }

    private void HandBack()
    {
        _handedBack = true;
        if (_finished) Recycle();
    }

    private void FreeNative()
    {
        if (_req == IntPtr.Zero) return;
        NativeMemory.Free((void*)_req);
        DnsRequests.t_outstanding--;
        _req = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    private void Recycle()
    {
        Debug.Assert(_finished && _handedBack && _req == IntPtr.Zero);
        Reset();
        _tasklet = null;
        _loop = null;
        Target = "";
        if (t_freeCount >= MaxPooled) return;
        _nextFree = t_free;
        t_free = (TSelf)this;
        t_freeCount++;
    }
}

/// <summary>Counts the native DNS requests of this thread that libuv has not called back yet (for tests).</summary>
internal static class DnsRequests
{
    [ThreadStatic] internal static int t_outstanding;

    /// <summary>Native requests allocated on this thread and not yet freed by their callback.</summary>
    internal static int Outstanding => t_outstanding;
}
