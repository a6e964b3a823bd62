// nginx serving a directory on 127.0.0.1, for the end-to-end tests (issue 6: "Against nginx
// serving a generated static site"). Built so that it runs the same as root (CI) and as a user,
// and never touches the system's nginx: every path nginx would write (pid, logs, temp dirs) is
// set in a config written into a fresh temp dir, nginx runs in the foreground as one process
// (daemon off, master_process off: no user switch, no worker to lose track of), and the child is
// stopped by the fixture, SIGQUIT first, then SIGKILL.
//
// The port is picked by binding port 0 and releasing it. Another process can take it before
// nginx binds it; nginx then exits with EADDRINUSE and the fixture retries with a fresh port.
//
// A test host that exits before a test disposed its site would leave nginx running: every live
// site is also stopped at process exit (ProcessExit: a normal exit or SIGTERM, not a SIGKILL).
//
// This is test code outside any loop: it blocks (Process.WaitForExit, a bounded connect poll),
// so tests call Start before TestLoop.Run and Stop/Dispose after it.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Evergreen.Tests;

/// <summary>A private nginx serving <see cref="Root"/> on 127.0.0.1:<see cref="Port"/>.</summary>
internal sealed partial class NginxSite : IDisposable
{
    /// <summary>Where Debian's nginx packages put the binary.</summary>
    public const string DefaultBinary = "/usr/sbin/nginx";

    private const int SIGQUIT = 3;
    private const int PortAttempts = 5;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(5);

    private readonly string _binary;
    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <summary>Every site whose nginx is running, stopped at process exit if a test did not.</summary>
    private static readonly HashSet<NginxSite> Live = [];

    static NginxSite()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            NginxSite[] left;
            lock (Live) left = [.. Live];
            foreach (var site in left) site.Stop();
        };
    }
    private BuildInfo? _build;

    private NginxSite(string binary, string directory)
    {
        _binary = binary;
        Directory = directory;
        Root = Path.Combine(directory, "site");
        System.IO.Directory.CreateDirectory(Root);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "temp"));
    }

    /// <summary>The fixture's own temp dir (config, logs, temp files, the site); deleted on dispose.</summary>
    public string Directory { get; }

    /// <summary>The directory nginx serves as "/". Files written here before or after the start are served.</summary>
    public string Root { get; }

    /// <summary>The port nginx listens on, on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/");

    /// <summary>The config nginx runs with.</summary>
    public string ConfigPath => Path.Combine(Directory, "nginx.conf");

    /// <summary>One line per request: method, status, request URI (see <see cref="ReadAccessLog"/>).</summary>
    public string AccessLogPath => Path.Combine(Directory, "access.log");

    /// <summary>nginx's error log (startup failures are explained there).</summary>
    public string ErrorLogPath => Path.Combine(Directory, "error.log");

    /// <summary>Whether the nginx process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// Writes a config into a new temp dir and starts nginx on a free port, returning once the
    /// port accepts connections. Fails (does not skip) when nginx is not installed, saying how
    /// to install it. Fill <see cref="Root"/> with the site to serve.
    /// </summary>
    public static NginxSite Start(string? binary = null)
    {
        string nginx = binary ?? FindBinary();
        if (!File.Exists(nginx))
        {
            throw new InvalidOperationException(
                $"nginx is not installed ({nginx} does not exist): the nginx end-to-end tests need it. " +
                "Install it with `apt-get install nginx-light` (or `apt-get install nginx`); .ci/run does.");
        }
        var site = new NginxSite(nginx, System.IO.Directory.CreateTempSubdirectory("evergreen-nginx-").FullName);
        try
        {
            site.Launch();
            return site;
        }
        catch
        {
            site.Dispose();
            throw;
        }
    }

    /// <summary>/usr/sbin/nginx, else nginx on PATH, else /usr/sbin/nginx (missing: Start says how to install it).</summary>
    private static string FindBinary()
    {
        if (File.Exists(DefaultBinary)) return DefaultBinary;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "nginx");
            if (File.Exists(candidate)) return candidate;
        }
        return DefaultBinary;
    }

    private void Launch()
    {
        _build = CompiledModules(_binary);
        for (int attempt = 1; ; attempt++)
        {
            Port = FreePort();
            File.WriteAllText(ConfigPath, Config(_build));
            File.Delete(ErrorLogPath);
            if (TryStartOnce(out string failure)) return;
            bool portTaken = failure.Contains("Address already in use", StringComparison.Ordinal);
            if (!portTaken || attempt == PortAttempts)
            {
                throw new InvalidOperationException(
                    $"nginx ({_binary}) did not start serving {Root} on 127.0.0.1:{Port} (config {ConfigPath}): {failure}");
            }
            // Someone took the port between our release and nginx's bind: another one.
        }
    }

    /// <summary>Starts nginx and waits until its port accepts; false with the reason when it exited first or never accepted.</summary>
    private bool TryStartOnce(out string failure)
    {
        List<string> arguments = ["-p", Directory + "/", "-c", ConfigPath];
        if (_build!.HasErrorLogOption) arguments.AddRange(["-e", ErrorLogPath]); // else startup errors go to the built-in path
        var start = new ProcessStartInfo(_binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        lock (_output) _output.Clear();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        lock (Live) Live.Add(this);

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                process.WaitForExit(); // drains the output readers
                _process = null;
                lock (Live) Live.Remove(this);
                failure = $"it exited with status {process.ExitCode} before accepting connections; {Diagnostics()}";
                process.Dispose();
                return false;
            }
            if (Accepts(Port)) { failure = ""; return true; }
            Thread.Sleep(20); // nginx gives no readiness signal but its open port
        }
        Stop();
        failure = $"its port did not accept connections within {StartTimeout.TotalSeconds} s; {Diagnostics()}";
        return false;
    }

    private string Diagnostics()
    {
        string output;
        lock (_output) output = _output.ToString().Trim();
        string log = File.Exists(ErrorLogPath) ? File.ReadAllText(ErrorLogPath).Trim() : "";
        return $"its output: \"{output}\"; its error log: \"{log}\"";
    }

    private static bool Accepts(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>A port the kernel just handed out for 127.0.0.1, released again (nginx binds it next).</summary>
    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// Stops nginx: SIGQUIT (finish the requests in flight, then exit), SIGKILL when it is still
    /// there after 5 s. Blocks until it has exited; then the access log is complete.
    /// </summary>
    public void Stop()
    {
        var process = _process;
        if (process is null) return;
        _process = null;
        lock (Live) Live.Remove(this);
        try
        {
            if (!process.HasExited)
            {
                SendSignal(process.Id, SIGQUIT);
                if (!process.WaitForExit(QuitTimeout)) process.Kill(entireProcessTree: true);
            }
            process.WaitForExit();
        }
        finally
        {
            process.Dispose();
        }
    }

    /// <summary>
    /// The requests nginx logged, in order. Call <see cref="Stop"/> first: nginx writes a request's
    /// log line after its response, so a line can lag behind what a client already received.
    /// </summary>
    public IReadOnlyList<NginxRequest> ReadAccessLog()
    {
        if (!File.Exists(AccessLogPath)) return [];
        var requests = new List<NginxRequest>();
        foreach (string line in File.ReadLines(AccessLogPath))
        {
            // log_format evergreen: "$request_method $status $request_uri"; the URI comes last (it is
            // escaped by nginx, but a malformed request could still hold a space).
            string[] parts = line.Split(' ', 3);
            if (parts.Length != 3 || !int.TryParse(parts[1], out int status))
            {
                throw new InvalidDataException($"unexpected line in nginx's access log {AccessLogPath}: \"{line}\"");
            }
            requests.Add(new NginxRequest(parts[0], status, parts[2]));
        }
        return requests;
    }

    /// <summary>Stops nginx and deletes the temp dir.</summary>
    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp dir is not worth failing a test over.
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signum);
}

/// <summary>One request from nginx's access log.</summary>
internal readonly record struct NginxRequest(string Method, int Status, string Uri);
