// Read buffers that libuv can write into directly.
//
// A stream's read buffer is handed to libuv's alloc callback as a raw pointer, so it must not
// move: it is allocated on the pinned object heap (GC.AllocateUninitializedArray(pinned: true)),
// never pinned with a GCHandle. Pinned arrays are kept in a small per-thread pool by size class
// (a loop runs on one thread), so connections that come and go do not allocate a buffer each.
//
// Must never: hand out an array that a stream still uses, or keep more than a few per class.

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.IO;

/// <summary>A per-thread pool of pinned byte arrays in power-of-two sizes from 4 KiB to 1 MiB.</summary>
internal static class PinnedBuffers
{
    internal const int MinSize = 4 * 1024;
    internal const int MaxPooledSize = 1024 * 1024;
    private const int MaxPerClass = 64;
    private const int Classes = 9; // 4 KiB .. 1 MiB

    [ThreadStatic] private static Stack<byte[]>[]? t_pools;

    /// <summary>A pinned array of at least <paramref name="minimumLength"/> bytes (rounded up to a power of two).</summary>
    internal static byte[] Rent(int minimumLength)
    {
        int size = SizeFor(minimumLength);
        int cls = ClassOf(size);
        if (cls < Classes && t_pools?[cls] is { Count: > 0 } pool) return pool.Pop();
        return GC.AllocateUninitializedArray<byte>(size, pinned: true);
    }

    /// <summary>Gives an array back (only arrays from <see cref="Rent"/>).</summary>
    internal static void Return(byte[] array)
    {
        int cls = ClassOf(array.Length);
        if (cls >= Classes || array.Length != MinSize << cls) return;
        var pools = t_pools ??= new Stack<byte[]>[Classes];
        var pool = pools[cls] ??= new Stack<byte[]>();
        if (pool.Count < MaxPerClass) pool.Push(array);
    }

    /// <summary>The address of <paramref name="array"/>[<paramref name="offset"/>] (the array is pinned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe IntPtr AddressOf(byte[] array, int offset) =>
        (IntPtr)Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), offset));

    private static int SizeFor(int minimumLength) =>
        minimumLength <= MinSize ? MinSize : (int)BitOperations.RoundUpToPowerOf2((uint)minimumLength);

    private static int ClassOf(int size) => BitOperations.Log2((uint)size) - BitOperations.Log2(MinSize);
}
