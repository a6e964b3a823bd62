using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// A libuv handle (a long-lived object: a timer, an async, a signal; Evergreen.IO's TCP and UDP
/// sockets, and later pipes, TTYs and processes) owned by a managed
/// object. Its native memory is allocated here and freed only in the close callback; the native
/// <c>data</c> field holds a <see cref="GCHandle"/> to the owner, freed at the same time.
/// No finalizer ever calls libuv: a handle that is never closed is closed by
/// <see cref="EventLoop.Dispose"/>.
/// </summary>
[DebuggerDisplay("{TypeName,nq} {Description,nq} (active={IsActive}, ref={HasRef}, closing={IsClosing})")]
internal abstract unsafe class UvHandle
{
    private GCHandle _self;

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
    internal EventLoop Loop { get; }

    /// <summary>The native <c>uv_handle_t*</c>; zero once freed.</summary>
    internal IntPtr Handle { get; private set; }

    internal UvHandleType Type { get; }

    /// <summary>What the handle is for, shown in handle listings.</summary>
    internal string Description { get; }

    /// <summary>True for handles the loop keeps for itself (its timer, its async).</summary>
    internal virtual bool IsInternal => false;

    internal string TypeName => LibUv.HandleTypeName(Type);

    internal bool IsClosing { get; private set; }

    internal bool IsActive => Handle != IntPtr.Zero && !IsClosing && LibUv.uv_is_active(Handle) != 0;

    internal bool HasRef => Handle != IntPtr.Zero && !IsClosing && LibUv.uv_has_ref(Handle) != 0;

    /// <summary>Runs the type's <c>uv_*_init</c>; on failure frees the memory and throws.</summary>
    protected void Init(int rc, string operation)
    {
        if (rc < 0)
        {
            FreeNative();
            throw new UvException(rc, operation);
        }
        Loop.RegisterHandle(this);
    }

    internal void Ref()
    {
        if (!IsClosing) LibUv.uv_ref(Handle);
    }

    internal void Unref()
    {
        if (!IsClosing) LibUv.uv_unref(Handle);
    }

    /// <summary>Starts closing the handle; the memory is freed in the close callback.</summary>
    internal void Close()
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
    internal void CloseWithReset()
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
    internal bool IsClosed => Handle == IntPtr.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T FromNative<T>(IntPtr handle) where T : UvHandle =>
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

    public override string ToString() => $"{TypeName} {Description}";
}
