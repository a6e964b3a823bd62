using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>The handle types of libuv 1.x (<c>uv_handle_type</c>), in libuv's order: what a <see cref="UvHandle"/> is.</summary>
public enum UvHandleType
{
    /// <summary><c>UV_UNKNOWN_HANDLE</c>.</summary>
    Unknown = 0,
    /// <summary><c>uv_async_t</c>.</summary>
    Async,
    /// <summary><c>uv_check_t</c>.</summary>
    Check,
    /// <summary><c>uv_fs_event_t</c>.</summary>
    FsEvent,
    /// <summary><c>uv_fs_poll_t</c>.</summary>
    FsPoll,
    /// <summary><c>uv_handle_t</c> (the base type).</summary>
    Handle,
    /// <summary><c>uv_idle_t</c>.</summary>
    Idle,
    /// <summary><c>uv_pipe_t</c>.</summary>
    NamedPipe,
    /// <summary><c>uv_poll_t</c>.</summary>
    Poll,
    /// <summary><c>uv_prepare_t</c>.</summary>
    Prepare,
    /// <summary><c>uv_process_t</c>.</summary>
    Process,
    /// <summary><c>uv_stream_t</c> (the base of TCP, pipes and TTYs).</summary>
    Stream,
    /// <summary><c>uv_tcp_t</c>.</summary>
    Tcp,
    /// <summary><c>uv_timer_t</c>.</summary>
    Timer,
    /// <summary><c>uv_tty_t</c>.</summary>
    Tty,
    /// <summary><c>uv_udp_t</c>.</summary>
    Udp,
    /// <summary><c>uv_signal_t</c>.</summary>
    Signal,
    /// <summary>A file (<c>UV_FILE</c>, not a handle type of its own).</summary>
    File,
}

/// <summary>The modes of <c>uv_run</c>.</summary>
internal enum UvRunMode { Default = 0, Once = 1, NoWait = 2 }

/// <summary>
/// <c>LibraryImport</c> bindings for the parts of libuv 1.x that Evergreen uses. Every argument is
/// blittable; callbacks are <c>[UnmanagedCallersOnly]</c> function pointers. The library itself is
/// found by <see cref="LibUvLoader"/>, which turns a missing libuv into a clear error.
/// </summary>
internal static unsafe partial class LibUv
{
    internal const string Library = UvLibrary.Name;

    // --- version and errors -------------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_version")] internal static partial uint uv_version();
    [LibraryImport(Library, EntryPoint = "uv_version_string")] internal static partial byte* uv_version_string();
    [LibraryImport(Library, EntryPoint = "uv_err_name")] internal static partial byte* uv_err_name(int err);
    [LibraryImport(Library, EntryPoint = "uv_strerror")] internal static partial byte* uv_strerror(int err);

    // --- loop ---------------------------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_loop_size")] internal static partial nuint uv_loop_size();
    [LibraryImport(Library, EntryPoint = "uv_loop_init")] internal static partial int uv_loop_init(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_loop_close")] internal static partial int uv_loop_close(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_run")] internal static partial int uv_run(IntPtr loop, UvRunMode mode);
    [LibraryImport(Library, EntryPoint = "uv_stop")] internal static partial void uv_stop(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_loop_alive"), SuppressGCTransition] internal static partial int uv_loop_alive(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_now"), SuppressGCTransition] internal static partial ulong uv_now(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_update_time")] internal static partial void uv_update_time(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_hrtime"), SuppressGCTransition] internal static partial ulong uv_hrtime();
    [LibraryImport(Library, EntryPoint = "uv_backend_timeout")] internal static partial int uv_backend_timeout(IntPtr loop);
    [LibraryImport(Library, EntryPoint = "uv_walk")] internal static partial void uv_walk(IntPtr loop, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> walkCb, IntPtr arg);

    // --- handles ------------------------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_handle_size")] internal static partial nuint uv_handle_size(UvHandleType type);
    [LibraryImport(Library, EntryPoint = "uv_handle_get_type"), SuppressGCTransition] internal static partial UvHandleType uv_handle_get_type(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_handle_type_name")] internal static partial byte* uv_handle_type_name(UvHandleType type);
    [LibraryImport(Library, EntryPoint = "uv_handle_get_data"), SuppressGCTransition] internal static partial IntPtr uv_handle_get_data(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_handle_set_data"), SuppressGCTransition] internal static partial void uv_handle_set_data(IntPtr handle, IntPtr data);
    [LibraryImport(Library, EntryPoint = "uv_close")] internal static partial void uv_close(IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, void> closeCb);
    [LibraryImport(Library, EntryPoint = "uv_ref"), SuppressGCTransition] internal static partial void uv_ref(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_unref"), SuppressGCTransition] internal static partial void uv_unref(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_has_ref"), SuppressGCTransition] internal static partial int uv_has_ref(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_is_active"), SuppressGCTransition] internal static partial int uv_is_active(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_is_closing"), SuppressGCTransition] internal static partial int uv_is_closing(IntPtr handle);

    [LibraryImport(Library, EntryPoint = "uv_tcp_close_reset")] internal static partial int uv_tcp_close_reset(IntPtr tcp, delegate* unmanaged[Cdecl]<IntPtr, void> closeCb);

    // --- timer --------------------------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_timer_init")] internal static partial int uv_timer_init(IntPtr loop, IntPtr timer);
    [LibraryImport(Library, EntryPoint = "uv_timer_start")] internal static partial int uv_timer_start(IntPtr timer, delegate* unmanaged[Cdecl]<IntPtr, void> cb, ulong timeout, ulong repeat);
    [LibraryImport(Library, EntryPoint = "uv_timer_stop")] internal static partial int uv_timer_stop(IntPtr timer);
    [LibraryImport(Library, EntryPoint = "uv_timer_again")] internal static partial int uv_timer_again(IntPtr timer);

    // --- prepare, check, idle -----------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_prepare_init")] internal static partial int uv_prepare_init(IntPtr loop, IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_prepare_start")] internal static partial int uv_prepare_start(IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, void> cb);
    [LibraryImport(Library, EntryPoint = "uv_prepare_stop")] internal static partial int uv_prepare_stop(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_check_init")] internal static partial int uv_check_init(IntPtr loop, IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_check_start")] internal static partial int uv_check_start(IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, void> cb);
    [LibraryImport(Library, EntryPoint = "uv_check_stop")] internal static partial int uv_check_stop(IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_idle_init")] internal static partial int uv_idle_init(IntPtr loop, IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_idle_start")] internal static partial int uv_idle_start(IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, void> cb);
    [LibraryImport(Library, EntryPoint = "uv_idle_stop")] internal static partial int uv_idle_stop(IntPtr handle);

    // --- async (the one thread-safe libuv call) -----------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_async_init")] internal static partial int uv_async_init(IntPtr loop, IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, void> cb);
    [LibraryImport(Library, EntryPoint = "uv_async_send")] internal static partial int uv_async_send(IntPtr handle);

    // --- signal -------------------------------------------------------------------------------
    [LibraryImport(Library, EntryPoint = "uv_signal_init")] internal static partial int uv_signal_init(IntPtr loop, IntPtr handle);
    [LibraryImport(Library, EntryPoint = "uv_signal_start")] internal static partial int uv_signal_start(IntPtr handle, delegate* unmanaged[Cdecl]<IntPtr, int, void> cb, int signum);
    [LibraryImport(Library, EntryPoint = "uv_signal_stop")] internal static partial int uv_signal_stop(IntPtr handle);

    /// <summary>libuv's name for an error code (<c>ECONNREFUSED</c>).</summary>
    internal static string ErrorName(int err) => Marshal.PtrToStringUTF8((IntPtr)uv_err_name(err)) ?? $"E{-err}";

    /// <summary>libuv's description of an error code (<c>connection refused</c>).</summary>
    internal static string ErrorMessage(int err) => Marshal.PtrToStringUTF8((IntPtr)uv_strerror(err)) ?? $"error {err}";

    internal static string HandleTypeName(UvHandleType type) =>
        Marshal.PtrToStringUTF8((IntPtr)uv_handle_type_name(type)) ?? type.ToString().ToLowerInvariant();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Check(int rc, string operation, string? target = null) => UvException.ThrowIfError(rc, operation, target);
}
