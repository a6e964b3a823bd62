using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// A <c>uv_prepare_t</c>, <c>uv_check_t</c> or <c>uv_idle_t</c>: a handle whose callback runs once per
/// loop iteration (before polling, after polling, or instead of blocking). The loop uses none today;
/// the watchdog and the deterministic scheduler are meant to hang off them.
/// </summary>
internal sealed unsafe class UvLoopHook : UvHandle
{
    private readonly Action _onTick;

    internal UvLoopHook(EventLoop loop, UvHandleType type, Action onTick, string description)
        : base(loop, CheckType(type), description)
    {
        _onTick = onTick;
        Init(type switch
        {
            UvHandleType.Prepare => LibUv.uv_prepare_init(loop.NativeLoop, Handle),
            UvHandleType.Check => LibUv.uv_check_init(loop.NativeLoop, Handle),
            _ => LibUv.uv_idle_init(loop.NativeLoop, Handle),
        }, $"uv_{LibUv.HandleTypeName(type)}_init");
    }

    private static UvHandleType CheckType(UvHandleType type) =>
        type is UvHandleType.Prepare or UvHandleType.Check or UvHandleType.Idle
            ? type
            : throw new ArgumentOutOfRangeException(nameof(type), type, "a loop hook is a prepare, check or idle handle");

    internal void Start() => LibUv.Check(Type switch
    {
        UvHandleType.Prepare => LibUv.uv_prepare_start(Handle, &OnTick),
        UvHandleType.Check => LibUv.uv_check_start(Handle, &OnTick),
        _ => LibUv.uv_idle_start(Handle, &OnTick),
    }, $"uv_{TypeName}_start");

    internal void Stop()
    {
        if (IsClosing) return;
        _ = Type switch
        {
            UvHandleType.Prepare => LibUv.uv_prepare_stop(Handle),
            UvHandleType.Check => LibUv.uv_check_stop(Handle),
            _ => LibUv.uv_idle_stop(Handle),
        };
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnTick(IntPtr handle)
    {
        UvLoopHook? self = null;
        try
        {
            self = FromNative<UvLoopHook>(handle);
            self._onTick();
        }
        catch (Exception e)
        {
            EventLoop.ReportFromNative(self?.Loop, e, "a loop hook callback");
        }
    }
}
