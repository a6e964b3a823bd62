// HttpFile: a file being sent by an HttpServer, read on the thread pool.
//
// File reads block (the page cache may miss, the disk may be slow), and the loop must never
// block, so every disk call (stat, open, read, close) runs through Offload.RunAsync. The choice
// over reading small files on the loop: a cold read can take milliseconds, during which every
// other connection of the loop (the crawler shares it with its demo site) would stand still;
// one thread-pool hop costs microseconds. To keep small files cheap, opening also reads the
// first 64 KiB in the same hop: a file that fits costs one hop in all, and a larger one one
// more per 64 KiB, each chunk written out before the next is read.
//
// Only regular files are served. A FIFO under the root would park the thread-pool thread in
// open() until some writer came, and a device has no length: on Linux the file is opened with
// O_NONBLOCK (which never waits, and changes nothing for a regular file's reads) and its type
// checked on the open descriptor (statx), so nothing can swap it between the check and the
// reads. Anything else is "missing" (404, as nginx answers "is not a regular file"). Elsewhere
// .NET's own open is used, which has no such check. The handle is disposed on every path.
//
// Must never: return the chunk buffer to the pool while a thread-pool read or a socket write may
// still use it (a read cut short by a kill runs on, and libuv keeps an abandoned write's memory).
using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Evergreen.IO.Http;

/// <summary>An open file and its current chunk, read through <see cref="Offload"/>.</summary>
[DebuggerDisplay("HttpFile {Path,nq} ({Length} bytes, {_offset} read)")]
internal sealed partial class HttpFile : IDisposable
{
    /// <summary>How much is read from disk at a time.</summary>
    public const int ChunkBytes = 64 * 1024;

    private SafeFileHandle? _handle;
    private byte[]? _buffer;
    private long _offset;      // where the next read starts
    private int _count;        // bytes of the current chunk
    private bool _busy;        // a read or a write of the buffer is in flight (or was abandoned)

    private HttpFile(SafeFileHandle handle, long length, DateTime lastWriteUtc, string path)
    {
        _handle = handle;
        Length = length;
        LastWriteUtc = lastWriteUtc;
        Path = path;
    }

    /// <summary>The file's full path (for a directory: its index.html).</summary>
    public string Path { get; }

    /// <summary>The file's size when it was opened.</summary>
    public long Length { get; }

    /// <summary>When the file was last written, UTC.</summary>
    public DateTime LastWriteUtc { get; }

    /// <summary>The bytes of the chunk read last.</summary>
    public ReadOnlyMemory<byte> Chunk => _buffer.AsMemory(0, _count);

    /// <summary>What <see cref="OpenAsync"/> found at a path (<see cref="Missing"/>: nothing, or no regular file).</summary>
    public enum Found { File, Directory, Missing }

    /// <summary>
    /// On the thread pool: opens the file at <paramref name="path"/> (with
    /// <paramref name="directoryIndex"/>, a directory's index.html) and, with
    /// <paramref name="readFirst"/>, reads its first chunk. A yield point; a cancelled call leaves
    /// nothing open (a file opened after the cancel is closed on its thread).
    /// </summary>
    public static async ValueTask<(Found Found, HttpFile? File)> OpenAsync(string path, bool directoryIndex, bool readFirst)
    {
        // Whoever comes second closes the file: the worker if the caller gave up first, the
        // caller if the worker had finished (0 running, 1 done, 2 given up).
        int state = 0;
        (Found, HttpFile?) opened = default;
        try
        {
            await Offload.RunAsync(() =>
            {
                opened = Open(path, directoryIndex, readFirst);
                if (Interlocked.CompareExchange(ref state, 1, 0) == 2) opened.Item2?.Dispose();
            });
        }
        catch
        {
            if (Interlocked.CompareExchange(ref state, 2, 0) == 1) opened.Item2?.Dispose();
            throw;
        }
        return opened;
    }

    private static (Found, HttpFile?) Open(string path, bool directoryIndex, bool readFirst)
    {
        if (!File.Exists(path))
        {
            if (!Directory.Exists(path)) return (Found.Missing, null);
            if (!directoryIndex) return (Found.Directory, null);
            path = System.IO.Path.Join(path, "index.html");
            if (!File.Exists(path)) return (Found.Missing, null);
        }
        SafeFileHandle? handle;
        try
        {
            handle = OperatingSystem.IsLinux()
                ? OpenRegularFile(path)
                : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (Found.Missing, null); // gone between the check and the open
        }
        if (handle is null) return (Found.Missing, null); // a FIFO, a device, a socket: not served
        HttpFile file;
        try
        {
            file = new HttpFile(handle, RandomAccess.GetLength(handle), File.GetLastWriteTimeUtc(path), path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        if (readFirst && file.Length > 0)
        {
            try
            {
                file._buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(file.Length, ChunkBytes));
                file.ReadChunk();
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        return (Found.File, file);
    }

    private const int O_RDONLY = 0, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;  // Linux, on every architecture .NET runs on
    private const int AT_EMPTY_PATH = 0x1000, STATX_TYPE = 0x1;
    private const int S_IFMT = 0xf000, S_IFREG = 0x8000;
    private const int ENOENT = 2, ENXIO = 6, EACCES = 13, ENOTDIR = 20, ELOOP = 40;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags);

    // struct statx has one layout on every Linux architecture: stx_mode is the u16 at offset 28.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>
    /// Opens <paramref name="path"/> for reading without ever waiting (O_NONBLOCK), and keeps it
    /// only if it is a regular file: null for anything else (the descriptor is closed). Linux only.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="UnauthorizedAccessException">It cannot be read.</exception>
    /// <exception cref="IOException">Another failure of open or statx.</exception>
    private static unsafe SafeFileHandle? OpenRegularFile(string path)
    {
        int fd = OpenNative(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno switch
            {
                ENOENT or ENOTDIR or ELOOP => throw new FileNotFoundException($"open {path}: {Marshal.GetPInvokeErrorMessage(errno)}", path),
                ENXIO => null, // a Unix socket
                EACCES => throw new UnauthorizedAccessException($"open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
                _ => throw new IOException($"open {path}: {Marshal.GetPInvokeErrorMessage(errno)}"),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        byte* statx = stackalloc byte[256];
        if (StatxNative(fd, "", AT_EMPTY_PATH, STATX_TYPE, statx) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"statx {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        if ((*(ushort*)(statx + 28) & S_IFMT) != S_IFREG)
        {
            handle.Dispose();
            return null;
        }
        return handle;
    }

    /// <summary>Reads the next chunk on the thread pool; 0 at the end of the file. A yield point.</summary>
    public async ValueTask<int> ReadNextAsync()
    {
        _buffer ??= ArrayPool<byte>.Shared.Rent(ChunkBytes);
        _busy = true;
        await Offload.RunAsync(ReadChunk);
        _busy = false;
        return _count;
    }

    private void ReadChunk()
    {
        int want = (int)Math.Min(_buffer!.Length, Math.Max(0, Length - _offset));
        _count = want == 0 ? 0 : RandomAccess.Read(_handle!, _buffer.AsSpan(0, want), _offset);
        _offset += _count;
    }

    /// <summary>Writes the current chunk to <paramref name="conn"/>, keeping the buffer while libuv may use it.</summary>
    public async ValueTask WriteChunkAsync(HttpServerConnection conn, int count)
    {
        _busy = true;
        await conn.WriteAsync(_buffer.AsMemory(0, count));
        _busy = false;
    }

    /// <summary>Closes the file and gives back the buffer (unless a cut-short read or write may still use it).</summary>
    public void Dispose()
    {
        _handle?.Dispose(); // a read still running holds its own reference: the close waits for it
        _handle = null;
        if (_buffer is not null && !_busy) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }
}
