using System.Net;
using System.Net.Sockets;
using Evergreen.IO;
using Xunit.Abstractions;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

// Everything runs over 127.0.0.1 (and ::1 when the host has it). UDP may drop, so tests that count
// datagrams keep the bytes in flight well under the kernel's receive buffer (212,992 bytes by
// default on Linux), and never depend on how fast anything is.
public class UdpEndpointTests(ITestOutputHelper output)
{
    private static readonly IPEndPoint AnyLoopbackPort = new(IPAddress.Loopback, 0);

    [Fact]
    public void SendAndReceive_RoundTripBetweenTwoEndpoints_NamesTheSender()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            Assert.Null(a.LocalEndPoint);
            a.Bind(AnyLoopbackPort);
            b.Bind(AnyLoopbackPort);
            var aAddress = a.LocalEndPoint!;
            Assert.Equal(IPAddress.Loopback, aAddress.Address);
            Assert.NotEqual(0, aAddress.Port);

            await a.SendAsync("ping"u8.ToArray(), b.LocalEndPoint!);
            var (data, from) = await b.ReceiveAsync();
            Assert.Equal("ping"u8.ToArray(), data);
            Assert.Equal(aAddress, from);

            await b.SendAsync("pong"u8.ToArray(), from);
            var reply = await a.ReceiveAsync();
            Assert.Equal("pong"u8.ToArray(), reply.Data);
            Assert.Equal(b.LocalEndPoint, reply.RemoteEndPoint);
            Assert.Equal($"4 bytes from {b.LocalEndPoint}", reply.ToString());
        });
    }

    [Fact]
    public void TheSendersEndPoint_IsReusedWhileItMatches_EvenIfSomeoneChangedIt()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            await using var c = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            var to = b.LocalEndPoint!;
            await a.SendAsync(new byte[1], to);
            await a.SendAsync(new byte[1], to);
            var first = (await b.ReceiveAsync()).RemoteEndPoint;
            var second = (await b.ReceiveAsync()).RemoteEndPoint;
            Assert.Same(first, second);
            var aFrom = new IPEndPoint(IPAddress.Loopback, a.LocalEndPoint!.Port); // a was bound by its send, to 0.0.0.0
            Assert.Equal(aFrom, first);

            first.Port = 1; // the caller's to change: the next datagram still names its real sender
            await a.SendAsync(new byte[1], to);
            var third = (await b.ReceiveAsync()).RemoteEndPoint;
            Assert.Equal(aFrom, third);
            Assert.NotSame(first, third);

            await c.SendAsync(new byte[1], to);
            Assert.Equal(c.LocalEndPoint!.Port, (await b.ReceiveAsync()).RemoteEndPoint.Port);
        });
    }

    [Fact]
    public void EmptyDatagram_ArrivesAsAnEmptyArray()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            await a.SendAsync(ReadOnlyMemory<byte>.Empty, b.LocalEndPoint!);
            Assert.NotNull(a.LocalEndPoint); // the send bound it
            var datagram = await b.ReceiveAsync();
            Assert.Empty(datagram.Data);
            Assert.Equal(a.LocalEndPoint!.Port, datagram.RemoteEndPoint.Port);
        });
    }

    [Fact]
    public void IPv6_RoundTripOverLoopback()
    {
        if (!Socket.OSSupportsIPv6)
        {
            output.WriteLine("skipped: this host has no IPv6");
            return;
        }
        Run(async () =>
        {
            await using var a = new UdpEndpoint(AddressFamily.InterNetworkV6);
            await using var b = new UdpEndpoint(AddressFamily.InterNetworkV6);
            try
            {
                b.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            }
            catch (UvException e)
            {
                output.WriteLine($"skipped: ::1 cannot be bound here ({e.Message})");
                return;
            }
            a.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            await a.SendAsync(new byte[] { 6, 6, 6 }, b.LocalEndPoint!);
            var (data, from) = await b.ReceiveAsync();
            Assert.Equal(new byte[] { 6, 6, 6 }, data);
            Assert.Equal(a.LocalEndPoint, from);
        });
    }

    [Fact]
    public void ThousandsOfDatagrams_OfEverySize_ArriveWithEveryByteIntact()
    {
        const int Count = 3000;
        const int MaxInFlightBytes = 32 * 1024; // far below the kernel's receive buffer: nothing is dropped
        Run(async () =>
        {
            await using var sender = new UdpEndpoint();
            await using var receiver = new UdpEndpoint();
            sender.Bind(AnyLoopbackPort);
            receiver.Bind(AnyLoopbackPort);
            var progress = new WaitQueue("the receiver's progress");
            int inFlightBytes = 0, inFlight = 0, received = 0;
            var seen = new bool[Count];

            var receiving = Tasklet.Spawn(async () =>
            {
                while (received < Count)
                {
                    var (data, from) = await receiver.ReceiveAsync();
                    Assert.Equal(sender.LocalEndPoint, from);
                    int seq = BitConverter.ToInt32(data, 0);
                    Assert.InRange(seq, 0, Count - 1);
                    Assert.False(seen[seq], $"datagram {seq} arrived twice");
                    seen[seq] = true;
                    Assert.Equal(SizeOf(seq), data.Length);
                    for (int j = 4; j < data.Length; j++)
                    {
                        if (data[j] != Pattern(seq, j)) Assert.Fail($"datagram {seq}, byte {j}: {data[j]} instead of {Pattern(seq, j)}");
                    }
                    received++;
                    inFlight--;
                    inFlightBytes -= data.Length;
                    progress.UnparkAll();
                }
            }, "receiver");

            for (int seq = 0; seq < Count; seq++)
            {
                var payload = new byte[SizeOf(seq)];
                BitConverter.TryWriteBytes(payload, seq);
                for (int j = 4; j < payload.Length; j++) payload[j] = Pattern(seq, j);
                while (inFlight > 0 && inFlightBytes + payload.Length > MaxInFlightBytes) await progress.ParkAsync();
                inFlight++;
                inFlightBytes += payload.Length;
                await sender.SendAsync(payload, receiver.LocalEndPoint!);
            }
            await receiving;
            Assert.All(seen, Assert.True);
        });

        // Mostly small datagrams of every length, and now and then a big one up to the IPv4 limit.
        static int SizeOf(int seq) => seq % 500 == 499 ? 65_507 - seq % 7 : seq % 97 == 0 ? 8_000 + seq : 4 + seq % 1500;
        static byte Pattern(int seq, int j) => (byte)(seq * 31 + j * 7);
    }

    [Fact]
    public void LaggingReceiver_QueueStopsAtItsBound_ThenResumesWhenDrained()
    {
        Run(async () =>
        {
            await using var sender = new UdpEndpoint();
            await using var receiver = new UdpEndpoint();
            receiver.Bind(AnyLoopbackPort);
            receiver.MaxQueuedDatagrams = 50;
            var to = receiver.LocalEndPoint!;
            await sender.SendAsync(new byte[] { 0 }, to);
            await receiver.ReceiveAsync(); // starts receiving; then nobody receives for a while
            Assert.True(receiver.IsReceiving);

            var payload = new byte[100];
            for (int i = 0; i < 100 && receiver.IsReceiving; i++)
            {
                for (int k = 0; k < 10; k++) await sender.SendAsync(payload, to);
                await Tasklet.Sleep(Ms(1)); // the loop polls: the receive callbacks queue them
            }
            Assert.False(receiver.IsReceiving, "the queue never filled up");
            Assert.Equal(50, receiver.QueuedDatagrams);
            Assert.Equal(50 * 100, receiver.QueuedBytes);

            // Draining half resumes receiving; what the kernel kept (or dropped) meanwhile is UDP's business.
            for (int i = 0; i < 25; i++) Assert.Equal(100, (await receiver.ReceiveAsync()).Data.Length);
            Assert.True(receiver.IsReceiving);
            while (receiver.QueuedDatagrams > 0) await receiver.ReceiveAsync();
        });
    }

    [Fact]
    public void LaggingReceiver_ByteBound_HoldsTheQueueUnderItPlusOneDatagram()
    {
        Run(async () =>
        {
            await using var sender = new UdpEndpoint();
            await using var receiver = new UdpEndpoint();
            receiver.Bind(AnyLoopbackPort);
            receiver.MaxQueuedBytes = 10_000;
            var to = receiver.LocalEndPoint!;
            await sender.SendAsync(new byte[] { 0 }, to);
            await receiver.ReceiveAsync();

            var payload = new byte[3_000];
            for (int i = 0; i < 100 && receiver.IsReceiving; i++)
            {
                await sender.SendAsync(payload, to);
                await Tasklet.Sleep(Ms(1));
            }
            Assert.False(receiver.IsReceiving, "the queue never filled up");
            Assert.InRange(receiver.QueuedBytes, 10_000, 10_000 + payload.Length);
            Assert.Equal(4, receiver.QueuedDatagrams);
        });
    }

    [Fact]
    public void OversizedDatagram_IsEmsgsizeNamingTheSizeAndTheLimit_AndTheEndpointStaysUsable()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            a.Bind(AnyLoopbackPort);
            b.Bind(AnyLoopbackPort);
            var to = b.LocalEndPoint!;
            var e = await Assert.ThrowsAsync<UvException>(async () => await a.SendAsync(new byte[65_508], to));
            Assert.Equal("EMSGSIZE", e.ErrorName);
            Assert.Equal($"EMSGSIZE in send of a 65,508-byte datagram (IPv4 carries at most 65,507) to {to} (message too long)", e.Message);

            var largest = new byte[65_507];
            new Random(7).NextBytes(largest);
            await a.SendAsync(largest, to);
            Assert.Equal(largest, (await b.ReceiveAsync()).Data);
        });
    }

    [Fact]
    public void DatagramLargerThanTheReceiveBuffer_IsAnErrorForTheReceiver_NotATruncatedDatagram()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            b.ReceiveBufferSize = 100;
            var to = b.LocalEndPoint!;
            await a.SendAsync(new byte[200], to);
            await a.SendAsync(new byte[50], to);
            var e = await Assert.ThrowsAsync<IOException>(async () => await b.ReceiveAsync());
            Assert.Contains("larger than the 100-byte receive buffer", e.Message);
            Assert.Contains("UV_UDP_PARTIAL", e.Message);
            Assert.Equal(50, (await b.ReceiveAsync()).Data.Length);
        });
    }

    [Fact]
    public void Close_WhileATaskletWaitsInReceive_ThrowsObjectDisposed_AndReleasesTheSocket()
    {
        Run(async () =>
        {
            var endpoint = new UdpEndpoint();
            endpoint.Bind(AnyLoopbackPort);
            var port = endpoint.LocalEndPoint!.Port;
            var receiving = Tasklet.Spawn(async () => { await endpoint.ReceiveAsync(); }, "receiver");
            await Tasklet.Yield();
            Assert.Equal(1, endpoint.WaitingReceivers);
            Assert.Contains($"UdpEndpoint #{endpoint.Id} to receive a datagram", receiving.WaitingOn);

            endpoint.Close();
            Assert.True(endpoint.IsClosed);
            var e = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await receiving);
            Assert.Contains("was closed while ReceiveAsync waited", e.Message);
            await endpoint.DisposeAsync(); // waits for the close callback
            Assert.Throws<ObjectDisposedException>(() => endpoint.LocalEndPoint);
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await endpoint.SendAsync(new byte[1], new IPEndPoint(IPAddress.Loopback, port)));
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await endpoint.ReceiveAsync());
            endpoint.Close(); // twice is nothing
            await endpoint.DisposeAsync();

            // The port is free again once DisposeAsync returned.
            await using var again = new UdpEndpoint();
            again.Bind(new IPEndPoint(IPAddress.Loopback, port));
        });
    }

    [Fact]
    public void Kill_WhileReceiving_TakesNoDatagram_TheNextReceiveGetsIt()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            var receiving = Tasklet.Spawn(async () => { await b.ReceiveAsync(); }, "receiver");
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, receiving.State);
            receiving.Kill();
            Assert.True(await receiving.JoinAsync());
            Assert.Equal(TaskletState.Killed, receiving.State);
            Assert.Equal(0, b.WaitingReceivers);

            bool got = await CancelScope.MoveOnAfterAsync(Ms(5), async () => { await b.ReceiveAsync(); });
            Assert.False(got); // an expired scope ends the wait the same way
            Assert.Equal(0, b.WaitingReceivers);

            await a.SendAsync(new byte[] { 42 }, b.LocalEndPoint!);
            Assert.Equal(new byte[] { 42 }, (await b.ReceiveAsync()).Data);
        });
    }

    [Fact]
    public void DisposingTheLoop_WithAReceiverAndAQueuedSenderParked_UnwindsThemAndClosesTheEndpoint()
    {
        var loop = new EventLoop();
        var reports = new List<LoopExceptionEventArgs>();
        loop.UnhandledException += (_, e) => reports.Add(e);
        Tasklet? receiving = null, sending = null;
        try
        {
            loop.Spawn(async () =>
            {
                var udp = new UdpEndpoint(); // never closed: the loop's Dispose does it
                udp.Bind(AnyLoopbackPort);
                udp.AlwaysQueueSends = true;
                receiving = Tasklet.Spawn(async () => { await udp.ReceiveAsync(); }, "receiver");
                sending = Tasklet.Spawn(async () => await udp.SendAsync(new byte[10], new IPEndPoint(IPAddress.Loopback, 9)), "sender");
                await Tasklet.Yield();
                loop.Stop();
            });
            loop.Run();
            Assert.Equal(TaskletState.Parked, receiving!.State);
            Assert.Equal(TaskletState.Parked, sending!.State);
        }
        finally
        {
            loop.Dispose();
        }
        Assert.Equal(TaskletState.Killed, receiving.State);
        Assert.Equal(TaskletState.Killed, sending.State);
        Assert.Equal(0, loop.HandleCount);
        Assert.Empty(reports);
    }

    [Fact]
    public void SeveralReceivers_EachDatagramGoesToOne_FirstComeFirstServed()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            var receivers = Enumerable.Range(0, 3).Select(i => Tasklet.Spawn(async () => (await b.ReceiveAsync()).Data[0], $"receiver {i}")).ToList();
            await Tasklet.Yield();
            Assert.Equal(3, b.WaitingReceivers);
            for (byte i = 0; i < 3; i++) await a.SendAsync(new[] { i }, b.LocalEndPoint!);
            for (int i = 0; i < 3; i++) Assert.Equal(i, await receivers[i]);
        });
    }

    [Fact]
    public void QueuedSends_ParkUntilSent_AndKillOrCloseLeaveNothingBehind()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            a.AlwaysQueueSends = true; // as when the kernel's buffer is full: uv_udp_send and a park
            var to = b.LocalEndPoint!;
            for (byte i = 0; i < 20; i++) await a.SendAsync(new[] { i }, to);
            for (byte i = 0; i < 20; i++) Assert.Equal(i, (await b.ReceiveAsync()).Data[0]);

            // A killed sender: the wait ends, the copy is still sent, the request is reused after its callback.
            var buffer = new byte[] { 99 };
            var sending = Tasklet.Spawn(async () => await a.SendAsync(buffer, to), "sender");
            await Tasklet.Yield();
            Assert.Equal(TaskletState.Parked, sending.State);
            sending.Kill();
            buffer[0] = 0; // the caller's memory is not read after the call
            Assert.True(await sending.JoinAsync());
            Assert.Equal(99, (await b.ReceiveAsync()).Data[0]);
            for (byte i = 0; i < 5; i++) await a.SendAsync(new[] { i }, to);
            for (byte i = 0; i < 5; i++) Assert.Equal(i, (await b.ReceiveAsync()).Data[0]);

            // Closing with a send in libuv's hands: it is sent or cancelled, never lost in between.
            var last = Tasklet.Spawn(async () => await a.SendAsync(new byte[] { 7 }, to), "last sender");
            await Tasklet.Yield();
            a.Close();
            try
            {
                await last;
            }
            catch (ObjectDisposedException e)
            {
                Assert.Contains("was closed before the datagram", e.Message);
            }
        });
    }

    [Fact]
    public void SendAsync_WhenTheKernelTakesIt_AllocatesNothing()
    {
        Run(async () =>
        {
            await using var a = new UdpEndpoint();
            await using var b = new UdpEndpoint();
            b.Bind(AnyLoopbackPort);
            var to = b.LocalEndPoint!;
            ReadOnlyMemory<byte> payload = new byte[32];
            for (int i = 0; i < 50; i++) await a.SendAsync(payload, to);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++) await a.SendAsync(payload, to);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);
        });
    }

    [Fact]
    public void Options_Broadcast_Ttl_MulticastTtl_MulticastLoopback_ReadBackWhatWasSet()
    {
        Run(async () =>
        {
            await using var udp = new UdpEndpoint();
            Assert.False(udp.EnableBroadcast);
            udp.EnableBroadcast = true;
            Assert.True(udp.EnableBroadcast);
            Assert.InRange(udp.Ttl, 1, 255);
            udp.Ttl = 7;
            Assert.Equal(7, udp.Ttl);
            udp.MulticastTtl = 3;
            Assert.Equal(3, udp.MulticastTtl);
            udp.MulticastLoopback = false;
            Assert.False(udp.MulticastLoopback);
            udp.MulticastLoopback = true;
            Assert.True(udp.MulticastLoopback);
            udp.MulticastInterface = IPAddress.Loopback;
            Assert.Equal(IPAddress.Loopback, udp.MulticastInterface);
            Assert.Throws<ArgumentOutOfRangeException>(() => udp.Ttl = 0);
            Assert.Throws<ArgumentOutOfRangeException>(() => udp.Ttl = 256);
            Assert.Throws<ArgumentOutOfRangeException>(() => udp.MulticastTtl = -1);
            Assert.Throws<ArgumentOutOfRangeException>(() => udp.MaxQueuedDatagrams = 0);
        });
    }

    [Fact]
    public void Broadcast_WithoutTheOption_IsRefused_WithItTheSystemMaySend()
    {
        Run(async () =>
        {
            await using var udp = new UdpEndpoint();
            udp.Bind(new IPEndPoint(IPAddress.Any, 0));
            var everyone = new IPEndPoint(IPAddress.Broadcast, 9);
            var refused = await Assert.ThrowsAsync<UvException>(async () => await udp.SendAsync(new byte[1], everyone));
            // EACCES: broadcast not enabled; ENETUNREACH on a host with no route for it at all.
            Assert.Contains(refused.ErrorName, new[] { "EACCES", "ENETUNREACH" });
            udp.EnableBroadcast = true;
            try
            {
                await udp.SendAsync(new byte[1], everyone);
            }
            catch (UvException e) when (e.ErrorName == "ENETUNREACH")
            {
                output.WriteLine($"this host has no route for broadcasts: {e.Message}");
            }
        });
    }

    [Fact]
    public void Multicast_JoinOnLoopback_ReceivesTheGroupsDatagrams_ThenLeaves()
    {
        Run(async () =>
        {
            var group = IPAddress.Parse("239.255.42.99");
            await using var member = new UdpEndpoint();
            await using var sender = new UdpEndpoint();
            member.Bind(new IPEndPoint(IPAddress.Any, 0), reuseAddress: true);
            try
            {
                member.JoinMulticastGroup(group, IPAddress.Loopback);
            }
            catch (UvException e)
            {
                output.WriteLine($"skipped: this host cannot join a multicast group on loopback ({e.Message})");
                return;
            }
            var e2 = Assert.Throws<UvException>(() => member.JoinMulticastGroup(group, IPAddress.Loopback));
            Assert.Contains($"in multicast join of group {group} on 127.0.0.1", e2.Message);

            sender.MulticastInterface = IPAddress.Loopback;
            sender.MulticastLoopback = true;
            var to = new IPEndPoint(group, member.LocalEndPoint!.Port);
            UdpDatagram? got = null;
            bool arrived = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async () =>
            {
                await sender.SendAsync("to the group"u8.ToArray(), to);
                got = await member.ReceiveAsync();
            });
            if (!arrived)
            {
                output.WriteLine("the group's datagram was not delivered over loopback on this host within 5 s; join and leave were still checked");
            }
            else
            {
                Assert.Equal("to the group"u8.ToArray(), got!.Value.Data);
            }

            member.LeaveMulticastGroup(group, IPAddress.Loopback);
            Assert.Throws<UvException>(() => member.LeaveMulticastGroup(group, IPAddress.Loopback));
        });
    }

    [Fact]
    public void Misuse_IsAClearError()
    {
        Run(async () =>
        {
            await using var v4 = new UdpEndpoint();
            var receiveUnbound = Assert.Throws<InvalidOperationException>(() => v4.ReceiveAsync());
            Assert.Contains("is not bound", receiveUnbound.Message);
            var wrongFamily = await Assert.ThrowsAsync<ArgumentException>(async () => await v4.SendAsync(new byte[1], new IPEndPoint(IPAddress.IPv6Loopback, 9)));
            Assert.Contains("is IPv4 and [::1]:9 is IPv6", wrongFamily.Message);
            Assert.Throws<ArgumentException>(() => v4.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0)));
            Assert.Throws<ArgumentException>(() => v4.JoinMulticastGroup(IPAddress.Loopback));
            await Assert.ThrowsAsync<ArgumentNullException>(async () => await v4.SendAsync(new byte[1], null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => new UdpEndpoint(AddressFamily.Unix));

            v4.Bind(AnyLoopbackPort);
            var inUse = v4.LocalEndPoint!;
            await using var other = new UdpEndpoint();
            var e = Assert.Throws<UvException>(() => other.Bind(inUse));
            Assert.Equal($"EADDRINUSE in bind to {inUse} (address already in use)", e.Message);

            // Another thread may not touch it.
            var fromThread = await Task.Run(() => Record.Exception(() => { _ = v4.SendAsync(new byte[1], inUse); }));
            Assert.IsType<InvalidOperationException>(fromThread);
        });
    }

    [Fact]
    public void AnIdleEndpoint_DoesNotKeepTheLoopAlive_AndTheLoopClosesWhatWasLeftOpen()
    {
        var loop = new EventLoop();
        try
        {
            UdpEndpoint? left = null;
            loop.Spawn(async () =>
            {
                left = new UdpEndpoint();
                left.Bind(AnyLoopbackPort);
                await left.SendAsync(new byte[1], left.LocalEndPoint!);
                await left.ReceiveAsync(); // receiving now runs, with nobody waiting
            });
            loop.Run(); // returns: the idle endpoint holds no reference on the loop
            Assert.True(left!.QueuedDatagrams == 0);
            Assert.Single(loop.GetUserHandles());
        }
        finally
        {
            loop.Dispose();
        }
        Assert.Equal(0, loop.HandleCount);
    }

    [Theory]
    [InlineData("127.0.0.1", 80)]
    [InlineData("192.0.2.200", 65535)]
    [InlineData("::1", 5353)]
    [InlineData("fe80::1%3", 1)]
    [InlineData("::ffff:10.1.2.3", 0)]
    public unsafe void SockAddr_EncodesWhatSocketAddressDoes_AndReadsItBack(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        byte* ours = stackalloc byte[Evergreen.Native.SockAddr.StorageSize];
        int length = Evergreen.Native.SockAddr.Write(endPoint, ours);
        var theirs = endPoint.Serialize(); // .NET's SocketAddress holds the platform's native layout
        Assert.Equal(theirs.Size, length);
        Assert.Equal(theirs.Buffer.Span[..theirs.Size].ToArray(), new ReadOnlySpan<byte>(ours, length).ToArray());
        Assert.Equal(endPoint, Evergreen.Native.SockAddr.ReadEndPoint(ours));
    }
}
