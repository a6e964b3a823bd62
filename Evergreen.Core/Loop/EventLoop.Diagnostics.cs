using Evergreen.Native;

namespace Evergreen;

/// <summary>A native handle seen by <see cref="EventLoop.GetHandles"/>.</summary>
/// <param name="Type">libuv's handle type name ("timer", "tcp", "signal").</param>
/// <param name="Description">What it is for.</param>
/// <param name="IsActive">Whether libuv considers it active.</param>
/// <param name="HasRef">Whether it keeps the loop alive when active.</param>
/// <param name="IsInternal">True for the loop's own timer and async handles.</param>
public readonly record struct HandleInfo(string Type, string Description, bool IsActive, bool HasRef, bool IsInternal);

public sealed partial class EventLoop
{
    private readonly HashSet<UvHandle> _handles = new();

    /// <summary>
    /// Raised for an exception nobody else would see: a tasklet that failed with no one awaiting
    /// it, or a callback that threw. With no handler, one line naming the tasklet (or callback) and
    /// the exception is written to stderr, then the stack. The loop goes on either way. <see cref="TaskletExit"/>
    /// is never reported.
    /// </summary>
    public event EventHandler<LoopExceptionEventArgs>? UnhandledException;

    /// <summary>
    /// Reports an exception nobody else will see (a user callback's, a handler's) through
    /// <see cref="UnhandledException"/>, or stderr when no one listens: the one reporting channel.
    /// </summary>
    /// <param name="error">What was thrown.</param>
    /// <param name="tasklet">The tasklet it belongs to, if any.</param>
    /// <param name="source">Where it came from ("the AcceptError handler of TcpServer #1").</param>
    public void Report(Exception error, Tasklet? tasklet, string source)
    {
        var args = new LoopExceptionEventArgs(error, tasklet, source);
        var handler = UnhandledException;
        if (handler is null)
        {
            WriteDefault(args);
            return;
        }
        try
        {
            handler(this, args);
        }
        catch (Exception e)
        {
            WriteDefault(args);
            Console.Error.WriteLine($"Evergreen: the UnhandledException handler itself threw: {e}");
        }
    }

    private static void WriteDefault(LoopExceptionEventArgs args) => WriteDefault(args, Console.Error);

    /// <summary>
    /// The default report: where, then the exception as .NET prints it (type and message, inner
    /// exceptions, stacks). Its first line is <see cref="LoopExceptionEventArgs.ToString"/>'s, and
    /// no message is said twice.
    /// </summary>
    internal static void WriteDefault(LoopExceptionEventArgs args, TextWriter writer) =>
        writer.WriteLine($"Evergreen: unhandled exception in {args.Source}: {args.Exception}");

    /// <summary>
    /// Reports an exception caught in a native callback, which must never unwind into libuv: an
    /// <c>[UnmanagedCallersOnly]</c> callback catches everything and hands it here. Never throws.
    /// </summary>
    /// <param name="loop">The callback's loop, or null for the current thread's.</param>
    /// <param name="error">What was thrown.</param>
    /// <param name="where">Which callback ("a UDP send callback").</param>
    public static void ReportFromNative(EventLoop? loop, Exception error, string where)
    {
        try
        {
            loop ??= t_current;
            if (loop is not null) loop.Report(error, null, where);
            else Console.Error.WriteLine($"Evergreen: unhandled exception in {where} with no loop: {error}");
        }
        catch
        {
            // Nothing may escape into native code; stderr itself failed.
        }
    }

    internal void RegisterHandle(UvHandle handle) => _handles.Add(handle);

    internal void UnregisterHandle(UvHandle handle) => _handles.Remove(handle);

    /// <summary>How many native handles are allocated (open or closing), the loop's own included.</summary>
    public int HandleCount => _handles.Count;

    /// <summary>
    /// Every native handle of the loop, through <c>uv_walk</c> (libuv's <c>uv_print_all_handles</c>).
    /// Tests assert that none but the loop's own (<see cref="HandleInfo.IsInternal"/>) is left.
    /// </summary>
    public IReadOnlyList<HandleInfo> GetHandles()
    {
        CheckThread("EventLoop.GetHandles");
        ThrowIfDisposed();
        var found = WalkNative();
        var result = new List<HandleInfo>(found.Count);
        foreach (var h in found)
        {
            var owner = UvHandle.TryFromNative(h);
            var type = LibUv.HandleTypeName(LibUv.uv_handle_get_type(h));
            result.Add(new HandleInfo(type, owner?.Description ?? "(not Evergreen's)",
                LibUv.uv_is_active(h) != 0, LibUv.uv_has_ref(h) != 0, owner?.IsInternal ?? false));
        }
        return result;
    }

    /// <summary>The handles that are not the loop's own; empty when everything was closed.</summary>
    public IReadOnlyList<HandleInfo> GetUserHandles() => GetHandles().Where(h => !h.IsInternal).ToList();

    /// <summary>The native handles of the loop that are not closing, through <c>uv_walk</c>.</summary>
    private unsafe List<IntPtr> WalkNative()
    {
        var found = new List<IntPtr>();
        var gc = System.Runtime.InteropServices.GCHandle.Alloc(found);
        try
        {
            LibUv.uv_walk(_loop, &CollectHandle, System.Runtime.InteropServices.GCHandle.ToIntPtr(gc));
        }
        finally
        {
            gc.Free();
        }
        return found;
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static void CollectHandle(IntPtr handle, IntPtr arg)
    {
        try
        {
            var list = (List<IntPtr>)System.Runtime.InteropServices.GCHandle.FromIntPtr(arg).Target!;
            if (LibUv.uv_is_closing(handle) == 0) list.Add(handle);
        }
        catch (Exception e)
        {
            ReportFromNative(null, e, "uv_walk");
        }
    }

    /// <summary>Closes native handles that no managed owner knows of (a safety net for Dispose).</summary>
    private unsafe void CloseForeignHandles()
    {
        foreach (var h in WalkNative())
        {
            if (UvHandle.TryFromNative(h) is { } owner) owner.Close();
            else LibUv.uv_close(h, null);
        }
    }
}
