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
        var testDir = new DirectoryInfo(AppContext.BaseDirectory); // .../Evergreen.Tests/bin/<Config>/<tfm>/
        string tfm = testDir.Name, config = testDir.Parent!.Name;
        var root = testDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Evergreen.sln"))) root = root.Parent;
        Assert.NotNull(root);
        string dll = Path.Combine(root!.FullName, "examples", "echo", "bin", config, tfm, "echo.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (dotnet build Evergreen.sln) first");
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
