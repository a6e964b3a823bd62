using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// A libuv handle (a long-lived object: a timer, an async, a signal; Evergreen.IO's TCP and UDP
/// sockets, and later pipes, TTYs and processes) owned by a managed object: the base a
/// handle-based primitive derives from, in Core or outside it. Its native memory is allocated
/// here and freed only in the close callback; the native <c>data</c> field holds a
/// <see cref="GCHandle"/> to this object, freed at the same time. A subclass runs its
/// <c>uv_*_init</c> through <see cref="Init"/>, passes <see cref="Handle"/> to libuv, finds itself
/// again in a callback with <see cref="FromNative{T}"/>, and hears the end in <see cref="OnClosed"/>.
/// No finalizer ever calls libuv: a handle that is never closed is closed by
/// <see cref="EventLoop.Dispose"/>. Loop thread only.
/// </summary>
[DebuggerDisplay("{TypeName,nq} {Description,nq} (active={IsActive}, ref={HasRef}, closing={IsClosing})")]
public abstract unsafe class UvHandle
{
    private GCHandle _self;

    /// <summary>Allocates the native handle of <paramref name="type"/> on <paramref name="loop"/>; call <see cref="Init"/> next.</summary>
    /// <param name="loop">The loop the handle lives on.</param>
    /// <param name="type">The libuv handle type, for its size.</param>
    /// <param name="description">What the handle is for, in handle listings ("TCP 127.0.0.1:80").</param>
    protected UvHandle(EventLoop loop, UvHandleType type, string description)
    {
        Loop = loop;
        Type = type;
        Description = description;
        Handle = (IntPtr)NativeMemory.AllocZeroed(LibUv.uv_handle_size(type));
        _self = GCHandle.Alloc(this);
        LibUv.uv_handle_set_data(Handle, GCHandle.ToIntPtr(_self));
    }

    /// <summary>The loop this handle lives on.</summary>
    public EventLoop Loop { get; }

    /// <summary>The native <c>uv_handle_t*</c>; zero once freed.</summary>
    public IntPtr Handle { get; private set; }

    internal UvHandleType Type { get; }

    /// <summary>What the handle is for, shown in handle listings.</summary>
    public string Description { get; }

    /// <summary>True for handles the loop keeps for itself (its timer, its async).</summary>
    internal virtual bool IsInternal => false;

    internal string TypeName => LibUv.HandleTypeName(Type);

    /// <summary>True once closing has begun (<see cref="Close"/>).</summary>
    public bool IsClosing { get; private set; }

    internal bool IsActive => Handle != IntPtr.Zero && !IsClosing && LibUv.uv_is_active(Handle) != 0;

    internal bool HasRef => Handle != IntPtr.Zero && !IsClosing && LibUv.uv_has_ref(Handle) != 0;

    /// <summary>
    /// Takes the return code of the type's <c>uv_*_init</c> on <see cref="Handle"/>: on failure frees
    /// the memory and throws; on success registers the handle with the loop (listings, Dispose).
    /// </summary>
    /// <exception cref="UvException"><paramref name="rc"/> is an error.</exception>
    protected void Init(int rc, string operation)
    {
        if (rc < 0)
        {
            FreeNative();
            throw new UvException(rc, operation);
        }
        Loop.RegisterHandle(this);
    }

    /// <summary>Makes the handle keep the loop alive (<c>uv_ref</c>); nothing once closing.</summary>
    public void Ref()
    {
        if (!IsClosing) LibUv.uv_ref(Handle);
    }

    /// <summary>Lets the loop end while the handle is active (<c>uv_unref</c>); nothing once closing.</summary>
    public void Unref()
    {
        if (!IsClosing) LibUv.uv_unref(Handle);
    }

    /// <summary>Starts closing the handle; the memory is freed in the close callback.</summary>
    public void Close()
    {
        if (IsClosing || Handle == IntPtr.Zero) return;
        IsClosing = true;
        OnClosing();
        LibUv.uv_close(Handle, &OnCloseCallback);
    }

    /// <summary>
    /// Closes a TCP handle with a reset (<c>uv_tcp_close_reset</c>: the peer gets ECONNRESET, not
    /// an orderly end); any other handle, or a TCP handle libuv cannot reset, is closed normally.
    /// </summary>
    public void CloseWithReset()
    {
        if (IsClosing || Handle == IntPtr.Zero) return;
        if (Type != UvHandleType.Tcp)
        {
            Close();
            return;
        }
        IsClosing = true;
        OnClosing();
        if (LibUv.uv_tcp_close_reset(Handle, &OnCloseCallback) < 0) LibUv.uv_close(Handle, &OnCloseCallback);
    }

    /// <summary>Called once when closing starts, before <c>uv_close</c>.</summary>
    protected virtual void OnClosing() { }

    /// <summary>
    /// Called once from the close callback, after the native memory is freed: libuv will call
    /// nothing of this handle's again (every request of the handle has had its callback), so
    /// request memory can be freed here, and owners wake whoever waits for the close. Must not
    /// throw into libuv (it is caught and reported like any callback's exception).
    /// </summary>
    protected virtual void OnClosed() { }

    /// <summary>True once the close callback ran and the native memory is freed.</summary>
    public bool IsClosed => Handle == IntPtr.Zero;

    /// <summary>The managed handle of a native one, in a libuv callback; <typeparamref name="T"/> must be its type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FromNative<T>(IntPtr handle) where T : UvHandle =>
        Unsafe.As<T>(GCHandle.FromIntPtr(LibUv.uv_handle_get_data(handle)).Target!);

    /// <summary>The managed owner of a native handle, or null for a handle Evergreen did not create.</summary>
    internal static UvHandle? TryFromNative(IntPtr handle)
    {
        var data = LibUv.uv_handle_get_data(handle);
        if (data == IntPtr.Zero) return null;
        return GCHandle.FromIntPtr(data).Target as UvHandle;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnCloseCallback(IntPtr handle)
    {
        UvHandle? self = null;
        try
        {
            self = FromNative<UvHandle>(handle);
            self.Loop.UnregisterHandle(self);
            self.FreeNative();
            self.OnClosed();
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a libuv close callback");
        }
    }

    private void FreeNative()
    {
        if (Handle == IntPtr.Zero) return;
        NativeMemory.Free((void*)Handle);
        Handle = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    /// <summary>
    /// What the native handle's <c>data</c> field holds: a <see cref="GCHandle"/> to this object, as
    /// an IntPtr. A request of this handle may carry it too (<c>uv_req_set_data</c>), so its
    /// callback finds the handle with <c>GCHandle.FromIntPtr</c>. Valid until the handle is closed.
    /// </summary>
    public IntPtr NativeData => GCHandle.ToIntPtr(_self);

    /// <summary>The libuv type name and the description ("tcp 127.0.0.1:80").</summary>
    public override string ToString() => $"{TypeName} {Description}";
}
