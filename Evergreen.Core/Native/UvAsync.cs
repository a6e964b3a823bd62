using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// A <c>uv_async_t</c> handle: <see cref="Send"/> is the only libuv call that is safe from any
/// thread, and it is what <see cref="EventLoop.CallFromThread"/> rests on.
/// </summary>
internal sealed unsafe class UvAsync : UvHandle
{
    private readonly Action _onSend;
    private readonly bool _internal;

    internal UvAsync(EventLoop loop, Action onSend, string description, bool isInternal = false)
        : base(loop, UvHandleType.Async, description)
    {
        _onSend = onSend;
        _internal = isInternal;
        Init(LibUv.uv_async_init(loop.NativeLoop, Handle, &OnAsync), "uv_async_init");
    }

    internal override bool IsInternal => _internal;

    /// <summary>Wakes the loop. Thread-safe; the caller guarantees the handle is not yet closed.</summary>
    internal void Send() => LibUv.Check(LibUv.uv_async_send(Handle), "uv_async_send");

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnAsync(IntPtr handle)
    {
        UvAsync? self = null;
        try
        {
            self = FromNative<UvAsync>(handle);
            self._onSend();
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "an async callback");
        }
    }
}
