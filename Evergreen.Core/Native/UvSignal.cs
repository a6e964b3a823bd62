using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>A <c>uv_signal_t</c> handle watching one signal number.</summary>
internal sealed unsafe class UvSignal : UvHandle
{
    private readonly Action<int> _onSignal;

    internal UvSignal(EventLoop loop, int signum, Action<int> onSignal)
        : base(loop, UvHandleType.Signal, $"signal {signum}")
    {
        _onSignal = onSignal;
        Signum = signum;
        Init(LibUv.uv_signal_init(loop.NativeLoop, Handle), "uv_signal_init");
    }

    internal int Signum { get; }

    internal void Start()
    {
        int rc = LibUv.uv_signal_start(Handle, &OnSignal, Signum);
        if (rc < 0)
        {
            Close();
            throw new UvException(rc, "uv_signal_start", $"signal {Signum}");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnSignal(IntPtr handle, int signum)
    {
        UvSignal? self = null;
        try
        {
            self = FromNative<UvSignal>(handle);
            self._onSignal(signum);
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a signal callback");
        }
    }
}
