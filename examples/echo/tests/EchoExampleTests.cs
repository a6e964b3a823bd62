using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Evergreen.Tests;

/// <summary>examples/echo end to end: the built program, real sockets, a real SIGINT.</summary>
public partial class EchoExampleTests
{
    private const int SIGINT = 2;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signum);

    /// <summary>The example as built next to the tests (same configuration), found from the repository root.</summary>
    private static string ExampleDll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // .../examples/echo/tests/bin/<Config>/<tfm>/
        string tfm = testDir.Name, config = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Evergreen.sln"))) root = root.Parent;
        Assert.NotNull(root);
        string dll = Path.Combine(root!.FullName, "examples", "echo", "bin", config, tfm, "echo.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: Echo.Tests.csproj references the example so that dotnet test builds it; was that reference removed?");
        return dll;
    }

    [Fact]
    public void TheEchoServer_EchoesLines_AndStopsGracefullyOnCtrlC()
    {
        var start = new ProcessStartInfo("dotnet", [ExampleDll(), "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var server = Process.Start(start)!;
        try
        {
            string? banner = server.StandardOutput.ReadLine();
            Assert.NotNull(banner);
            Assert.StartsWith("Echo server listening on 127.0.0.1:", banner);
            int port = int.Parse(banner!.Split(':')[1].Split(' ')[0]);

            using var client = new TcpClient("127.0.0.1", port);
            var stream = client.GetStream();
            stream.ReadTimeout = 10_000;
            var reader = new StreamReader(stream, Encoding.UTF8);
            var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
            foreach (var line in new[] { "hello", "ünïcødé", "", "last" })
            {
                writer.WriteLine(line);
                Assert.Equal(line, reader.ReadLine());
            }

            Assert.Equal(0, SendSignal(server.Id, SIGINT));
            Assert.True(server.WaitForExit(10_000), "the server did not stop within 10 s of SIGINT");
            Assert.Equal(0, server.ExitCode);
            string rest = server.StandardOutput.ReadToEnd();
            Assert.Contains("Stopping", rest);
            Assert.Contains("Bye.", rest);
            Assert.Null(reader.ReadLine()); // its connection was closed by the drain
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void OutOfFileDescriptors_TheServerReportsEMFILE_AndGoesOnServing()
    {
        // The server runs with a tiny descriptor limit, so it runs short of descriptors long
        // before the 100th connection: it must say so, back off (the rest wait in the backlog),
        // and serve again once descriptors are free. (In a child process: lowering the limit of the test process itself would
        // starve the runtime. W^X is off there because its double-mapped code needs descriptors.)
        var start = new ProcessStartInfo("bash", ["-c", $"ulimit -n 64 && exec dotnet '{ExampleDll()}' 0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        using var server = Process.Start(start)!;
        var stderr = new StringBuilder();
        server.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        server.BeginErrorReadLine();
        var clients = new List<TcpClient>();
        try
        {
            string? banner = server.StandardOutput.ReadLine();
            Assert.NotNull(banner);
            int port = int.Parse(banner!.Split(':')[1].Split(' ')[0]);
            // Warm up first: out of descriptors, the runtime cannot even load an assembly.
            Assert.Equal("warm", EchoOnce(port, "warm"));
            for (int i = 0; i < 100; i++) clients.Add(new TcpClient("127.0.0.1", port));
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                lock (stderr) if (stderr.ToString().Contains("EMFILE")) break;
                Thread.Sleep(20);
            }
            string errors;
            lock (stderr) errors = stderr.ToString();
            Assert.Contains("EMFILE in accept on 127.0.0.1:", errors);
            Assert.Contains("pausing accepts", errors);
            Assert.False(server.HasExited, "the server died of EMFILE");

            foreach (var c in clients) c.Dispose();
            clients.Clear();
            // Descriptors come back as the server sees those connections end; then it serves again.
            string? echoed = null;
            clock.Restart();
            while (echoed is null && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                try
                {
                    echoed = EchoOnce(port, "after");
                }
                catch (IOException)
                {
                    Thread.Sleep(50); // refused by the EMFILE trick: not yet
                }
            }
            Assert.Equal("after", echoed);
            Assert.Equal(0, SendSignal(server.Id, SIGINT));
            Assert.True(server.WaitForExit(10_000), "the server did not stop within 10 s of SIGINT");
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
            if (!server.HasExited) server.Kill(entireProcessTree: true);
        }
    }

    private static string? EchoOnce(int port, string line)
    {
        using var client = new TcpClient("127.0.0.1", port);
        var stream = client.GetStream();
        stream.ReadTimeout = 2_000;
        stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
        return new StreamReader(stream).ReadLine();
    }

    [Fact]
    public void ABadPort_IsAClearErrorWithExitCode2()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [ExampleDll(), "seventy"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        Assert.True(process.WaitForExit(10_000));
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("usage: echo [PORT]", process.StandardError.ReadToEnd());
    }
}
