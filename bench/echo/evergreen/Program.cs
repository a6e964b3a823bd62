// The Evergreen server of the echo benchmark: raw bytes back as they come, a tasklet per
// connection, plain sequential code. Usage: EvergreenEcho PORT (listens on 127.0.0.1).
// SIGTERM or SIGINT stops it.

using System.Net;
using Evergreen;
using Evergreen.IO;

if (args.Length != 1 || !int.TryParse(args[0], out int port) || port is < 1 or > 65535)
{
    Console.Error.WriteLine("usage: EvergreenEcho PORT");
    return 2;
}

EventLoop.Run(async () =>
{
    var loop = EventLoop.Current;
    var server = new TcpServer();
    server.Bind(new IPEndPoint(IPAddress.Loopback, port));
    server.Listen(4096);
    void Stop() => loop.Spawn(() => server.CloseAsync(TimeSpan.Zero).AsTask());
    var onTerm = loop.AddSignalHandler(15, Stop);
    var onInt = loop.AddSignalHandler(2, Stop);
    await server.ServeAsync(async conn =>
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await conn.ReadAsync(buffer)) > 0)
        {
            await conn.WriteAsync(buffer.AsMemory(0, n));
        }
    });
    onTerm.Cancel();
    onInt.Cancel();
});
return 0;
