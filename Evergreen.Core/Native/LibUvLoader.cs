using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Evergreen.Native;

/// <summary>
/// Finds the system's libuv 1.x and hands it to every <c>LibraryImport</c> of this assembly.
/// A missing or too old libuv is a <see cref="DllNotFoundException"/> that says how to install it,
/// raised when the first <see cref="EventLoop"/> is created rather than deep inside a P/Invoke.
/// </summary>
internal static class LibUvLoader
{
    /// <summary>The oldest libuv whose API Evergreen uses (handle data accessors arrived in 1.19).</summary>
    internal const uint MinimumVersion = (1 << 16) | (19 << 8);

    private static readonly string[] s_candidates = OperatingSystem.IsWindows()
        ? ["libuv.dll", "uv.dll"]
        : OperatingSystem.IsMacOS()
            ? ["libuv.1.dylib", "libuv.dylib", "/opt/homebrew/lib/libuv.1.dylib", "/usr/local/lib/libuv.1.dylib"]
            : ["libuv.so.1", "libuv.so"];

    private static IntPtr s_library;
    private static Exception? s_failure;
    private static readonly object s_gate = new();

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The resolver must be in place before any libuv call.")]
    internal static void Install() => UvLibrary.ResolveFor(typeof(LibUvLoader).Assembly);

    internal static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == UvLibrary.Name ? Load() : IntPtr.Zero;

    /// <summary>Loads libuv once, or throws the error that says how to install it.</summary>
    internal static IntPtr Load()
    {
        if (s_library != IntPtr.Zero) return s_library;
        lock (s_gate)
        {
            if (s_library != IntPtr.Zero) return s_library;
            if (s_failure is not null) throw s_failure;
            try
            {
                var handle = TryLoad(s_candidates) ?? throw NotFound(s_candidates);
                CheckVersion(handle);
                s_library = handle;
                return handle;
            }
            catch (Exception e)
            {
                s_failure = e;
                throw;
            }
        }
    }

    internal static IntPtr? TryLoad(IEnumerable<string> candidates)
    {
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        }
        return null;
    }

    internal static DllNotFoundException NotFound(IEnumerable<string> candidates) => new(
        $"Evergreen needs libuv 1.x (tried {string.Join(", ", candidates)}), and it was not found. " +
        "Install it: Debian/Ubuntu `apt-get install libuv1`, Fedora `dnf install libuv`, " +
        "macOS `brew install libuv`.");

    private static unsafe void CheckVersion(IntPtr handle)
    {
        var export = NativeLibrary.GetExport(handle, "uv_version");
        var version = ((delegate* unmanaged[Cdecl]<uint>)export)();
        if (version >> 16 != 1 || version < MinimumVersion)
        {
            throw new DllNotFoundException(
                $"Evergreen needs libuv 1.19 or newer in the 1.x series (tested with 1.44), but found " +
                $"{version >> 16}.{(version >> 8) & 0xff}.{version & 0xff}. Upgrade it: Debian/Ubuntu " +
                "`apt-get install libuv1`, Fedora `dnf install libuv`, macOS `brew install libuv`.");
        }
    }
}

/// <summary>
/// The one libuv library every Evergreen assembly binds to: an assembly with its own
/// <c>[LibraryImport(UvLibrary.Name)]</c> bindings (Evergreen.IO's network calls, a third party's
/// handle type) calls <see cref="ResolveFor"/> once, from a module initializer, and gets the same
/// library Core found, and the same clear error when it is missing.
/// </summary>
public static class UvLibrary
{
    /// <summary>The library name to give <c>LibraryImport</c>.</summary>
    public const string Name = "uv";

    /// <summary>Makes <paramref name="assembly"/>'s imports of <see cref="Name"/> resolve to the system's libuv 1.x, found as Core finds it.</summary>
    /// <exception cref="InvalidOperationException">The assembly already has a resolver.</exception>
    public static void ResolveFor(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        NativeLibrary.SetDllImportResolver(assembly, LibUvLoader.Resolve);
    }
}
