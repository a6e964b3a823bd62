// Evergreen's echo-server.py, in C#: a tasklet per connection reads a line and writes it back.
//
//   dotnet run --project examples/echo -- [PORT]      (default 1234; Ctrl-C stops it)
//   then, in another terminal: nc 127.0.0.1 1234
//
// Ctrl-C (SIGINT) or SIGTERM closes the server gracefully: it stops accepting, gives the open
// connections two seconds to finish, then closes them.

using System.Net;
using System.Text;
using Evergreen;
using Evergreen.IO;

int port = 1234;
if (args.Length > 0 && (!int.TryParse(args[0], out port) || port is < 0 or > 65535))
{
    Console.Error.WriteLine($"usage: echo [PORT]   (PORT is 0 to 65535, not '{args[0]}')");
    return 2;
}

return EventLoop.Run(async () =>
{
    var loop = EventLoop.Current;
    var server = new TcpServer();
    try
    {
        server.Bind(new IPEndPoint(IPAddress.Loopback, port));
        server.Listen();
    }
    catch (UvException e)
    {
        Console.Error.WriteLine($"echo: cannot listen on 127.0.0.1:{port}: {e.Message}");
        await server.DisposeAsync();
        return 1;
    }
    Console.WriteLine($"Echo server listening on {server.LocalEndPoint} (Ctrl-C to stop)");

    bool stopping = false;
    void Stop()
    {
        if (stopping) return;
        stopping = true;
        Console.WriteLine("Stopping: closing open connections within 2 s...");
        loop.Spawn(() => server.CloseAsync(TimeSpan.FromSeconds(2)), "shutdown");
    }
    var onInt = loop.AddSignalHandler(2, Stop);   // SIGINT
    var onTerm = loop.AddSignalHandler(15, Stop); // SIGTERM

    await server.ServeAsync(async conn =>
    {
        Console.WriteLine($"{conn.RemoteEndPoint} connected");
        try
        {
            while (await conn.ReadLineAsync() is { } line)
            {
                await conn.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
            }
            Console.WriteLine($"{conn.RemoteEndPoint} closed the connection");
        }
        catch (InvalidDataException e)
        {
            Console.WriteLine($"{conn.RemoteEndPoint}: {e.Message}; closing it");
        }
        catch (UvException e)
        {
            Console.WriteLine($"{conn.RemoteEndPoint}: {e.Message}");
        }
    });
    onInt.Cancel();
    onTerm.Cancel();
    Console.WriteLine("Bye.");
    return 0;
});
