using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>A <c>uv_timer_t</c> handle that calls its action when it fires.</summary>
internal sealed unsafe class UvTimer : UvHandle
{
    private readonly Action _onTimer;
    private readonly bool _internal;

    internal UvTimer(EventLoop loop, Action onTimer, string description, bool isInternal = false)
        : base(loop, UvHandleType.Timer, description)
    {
        _onTimer = onTimer;
        _internal = isInternal;
        Init(LibUv.uv_timer_init(loop.NativeLoop, Handle), "uv_timer_init");
    }

    internal override bool IsInternal => _internal;

    internal void Start(ulong timeoutMs, ulong repeatMs = 0) =>
        LibUv.Check(LibUv.uv_timer_start(Handle, &OnTimer, timeoutMs, repeatMs), "uv_timer_start");

    internal void Stop()
    {
        if (!IsClosing) LibUv.uv_timer_stop(Handle);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnTimer(IntPtr handle)
    {
        UvTimer? self = null;
        try
        {
            self = FromNative<UvTimer>(handle);
            self._onTimer();
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a timer callback");
        }
    }
}
