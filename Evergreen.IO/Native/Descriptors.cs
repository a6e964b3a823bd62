using System.Runtime.InteropServices;
using Evergreen.Native;

namespace Evergreen.IO.Native;

/// <summary>
/// The process's file-descriptor headroom, for a server that must back off before the limit
/// (TcpServer). Unix only; elsewhere nothing is known and the server never backs off early.
/// </summary>
internal static unsafe partial class Descriptors
{
    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    private static readonly int s_rlimitNoFile = OperatingSystem.IsLinux() ? 7 : OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? 8 : -1;

    /// <summary>The soft RLIMIT_NOFILE, or -1 if unknown (or unlimited).</summary>
    internal static long SoftLimit
    {
        get
        {
            if (s_rlimitNoFile < 0 || GetRLimit(s_rlimitNoFile, out var limit) != 0) return -1;
            return limit.Current > int.MaxValue ? -1 : (long)limit.Current;
        }
    }

    /// <summary>
    /// The lowest free descriptor number (by duplicating <paramref name="handle"/>'s and closing
    /// the copy); -1 if none is free; <see cref="int.MinValue"/> if the handle has no descriptor.
    /// </summary>
    internal static int LowestFree(UvHandle handle)
    {
        int fd;
        if (handle.IsClosing || handle.IsClosed || LibUvNet.uv_fileno(handle.Handle, &fd) < 0) return int.MinValue;
        int copy = Dup(fd);
        if (copy < 0) return -1;
        Close(copy);
        return copy;
    }
}
