using System.Threading.Channels;
using Evergreen.Sync;
using static Evergreen.Tests.TestLoop;

namespace Evergreen.Tests;

/// <summary>AsyncChannel: Evergreen's test_channel, buffering, close, fairness, kill and timeout at every wait.</summary>
public class AsyncChannelTests
{
    [Fact]
    public void SendFirst_ParksUntilTheReceiverTakesTheValue()
    {
        // Evergreen's test_channel_simple, with the order of events checked.
        Run(async () =>
        {
            var ch = new AsyncChannel<string>();
            var log = new List<string>();
            var sender = Tasklet.Spawn(async () =>
            {
                log.Add("send");
                await ch.SendAsync("test");
                log.Add("sent");
            });
            var receiver = Tasklet.Spawn(async () =>
            {
                await Tasklet.Yield();
                Assert.Equal(1, ch.WaitingSenders);
                Assert.Equal(TaskletState.Parked, sender.State);
                Assert.Contains("sending on AsyncChannel<String>", sender.WaitingOn);
                log.Add("received " + await ch.ReceiveAsync());
            });
            await sender;
            await receiver;
            Assert.Equal(["send", "received test", "sent"], log);
            Assert.Equal(0, ch.WaitingSenders);
        });
    }

    [Fact]
    public void ReceiveFirst_TheSenderHandsOverWithoutWaiting()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var log = new List<string>();
            var receiver = Tasklet.Spawn(async () => log.Add("received " + await ch.ReceiveAsync()));
            await Tasklet.Yield();
            Assert.Equal(1, ch.WaitingReceivers);
            Assert.Contains("receiving from", receiver.WaitingOn);
            var send = ch.SendAsync(7);
            Assert.True(send.IsCompletedSuccessfully); // a receiver waited: not a yield point
            log.Add("sent");
            await receiver;
            Assert.Equal(["sent", "received 7"], log);
        });
    }

    [Fact]
    public void SendException_IsThrownByTheReceiver()
    {
        // Evergreen's test_channel_exception.
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var sender = Tasklet.Spawn(async () => await ch.SendExceptionAsync(new InvalidDataException("boom")));
            var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await ch.ReceiveAsync());
            Assert.Equal("boom", e.Message);
            await sender;

            var buffered = new AsyncChannel<int>(2);
            await buffered.SendExceptionAsync(new FormatException("first"));
            await buffered.SendAsync(2);
            Assert.Throws<FormatException>(() => buffered.TryReceive(out _));
            Assert.Equal(2, await buffered.ReceiveAsync());
            Assert.Throws<ArgumentNullException>(() => { _ = buffered.SendExceptionAsync(null!); });
        });
    }

    [Fact]
    public void AwaitForeach_ReceivesInOrder_AndEndsWhenClosedAndDrained()
    {
        // Evergreen's channel iteration, ended by Close instead of a break.
        Run(async () =>
        {
            foreach (int capacity in new[] { 0, 3 })
            {
                var ch = new AsyncChannel<string>(capacity);
                var sender = Tasklet.Spawn(async () =>
                {
                    await ch.SendAsync("hello");
                    await ch.SendAsync("world");
                    await ch.SendAsync("!");
                    ch.Close();
                });
                var got = new List<string>();
                await foreach (var s in ch) got.Add(s);
                Assert.Equal(["hello", "world", "!"], got);
                await sender;
            }
        });
    }

    [Fact]
    public void AwaitForeach_KilledOrTimedOutWhileParked_TakesNothing()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var got = new List<int>();
            var victim = Tasklet.Spawn(async () => { await foreach (var v in ch) got.Add(v); });
            await Tasklet.Yield();
            Assert.Equal(1, ch.WaitingReceivers);
            victim.Kill();
            await victim.JoinAsync();
            Assert.Equal(TaskletState.Killed, victim.State);
            Assert.Equal(0, ch.WaitingReceivers);
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await foreach (var v in ch) got.Add(v);
            });
            Assert.Equal(0, ch.WaitingReceivers);
            Assert.False(ch.TrySend(1));
            Assert.Empty(got);
        });
    }

    [Fact]
    public void Buffered_SendsReturnAtOnceUntilFull_ThenTheFirstWaitingSenderMovesIn()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(2);
            Assert.Equal(2, ch.Capacity);
            Assert.True(ch.SendAsync(1).IsCompletedSuccessfully);
            Assert.True(ch.TrySend(2));
            Assert.False(ch.TrySend(3));
            Assert.Equal(2, ch.Count);
            var log = new List<string>();
            var third = Tasklet.Spawn(async () => { await ch.SendAsync(3); log.Add("3 buffered"); });
            var fourth = Tasklet.Spawn(async () => { await ch.SendAsync(4); log.Add("4 buffered"); });
            await Tasklet.Yield();
            Assert.Equal(2, ch.WaitingSenders);
            Assert.Equal(1, await ch.ReceiveAsync());
            Assert.Equal(2, ch.Count);                 // 3 took the freed slot
            Assert.Equal(1, ch.WaitingSenders);
            await third;
            Assert.Equal(["3 buffered"], log);
            Assert.True(ch.TryReceive(out var v));
            Assert.Equal(2, v);
            await fourth;
            Assert.Equal(3, await ch.ReceiveAsync());
            Assert.Equal(4, await ch.ReceiveAsync());
            Assert.False(ch.TryReceive(out _));
            Assert.Equal(0, ch.Count);
        });
    }

    [Fact]
    public void TrySend_OnARendezvous_SucceedsOnlyWithAWaitingReceiver()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            Assert.False(ch.TrySend(1));
            Assert.False(ch.TryReceive(out _));
            var receiver = Tasklet.Spawn(async () => await ch.ReceiveAsync());
            await Tasklet.Yield();
            Assert.True(ch.TrySend(5));
            Assert.Equal(5, await receiver);
            var sender = Tasklet.Spawn(async () => await ch.SendAsync(6));
            await Tasklet.Yield();
            Assert.True(ch.TryReceive(out var v));
            Assert.Equal(6, v);
            await sender;
        });
    }

    [Fact]
    public void Senders_AreServedFifo()
    {
        Run(async () =>
        {
            foreach (int capacity in new[] { 0, 1 })
            {
                var ch = new AsyncChannel<int>(capacity);
                var done = new List<int>();
                var senders = Enumerable.Range(1, 4).Select(i => Tasklet.Spawn(async () => { await ch.SendAsync(i); done.Add(i); })).ToList();
                await Tasklet.Yield();
                var got = new List<int>();
                for (int i = 0; i < 4; i++) got.Add(await ch.ReceiveAsync());
                foreach (var s in senders) await s;
                Assert.Equal([1, 2, 3, 4], got);
                Assert.Equal([1, 2, 3, 4], done);
            }
        });
    }

    [Fact]
    public void Receivers_AreServedFifo()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(5);
            var got = new List<(int Receiver, int Value)>();
            var receivers = Enumerable.Range(1, 4).Select(i => Tasklet.Spawn(async () => got.Add((i, await ch.ReceiveAsync())))).ToList();
            await Tasklet.Yield();
            Assert.Equal(4, ch.WaitingReceivers);
            for (int v = 10; v < 14; v++) await ch.SendAsync(v);
            Assert.Equal(0, ch.Count);                // each value went straight to a receiver
            foreach (var r in receivers) await r;
            Assert.Equal([(1, 10), (2, 11), (3, 12), (4, 13)], got);
        });
    }

    [Fact]
    public void Close_ReceiversDrainTheBuffer_ThenGetClosed_SendersGetClosedAtOnce()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(3);
            await ch.SendAsync(1);
            await ch.SendAsync(2);
            ch.Close();
            ch.Close(); // harmless
            Assert.True(ch.IsClosed);
            var e = await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await ch.SendAsync(3));
            Assert.Contains("is closed", e.Message);
            Assert.IsAssignableFrom<InvalidOperationException>(e);
            Assert.False(ch.TrySend(3));
            Assert.Equal(1, await ch.ReceiveAsync());
            Assert.True(ch.TryReceive(out var two));
            Assert.Equal(2, two);
            Assert.False(ch.TryReceive(out _));
            await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await ch.ReceiveAsync());
            await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await ch.SendExceptionAsync(new Exception()));
        });
    }

    [Fact]
    public void Close_WakesParkedSendersAndReceivers_WithClosed()
    {
        Run(async () =>
        {
            var full = new AsyncChannel<int>(1);
            await full.SendAsync(1);
            var senders = Enumerable.Range(2, 2).Select(i => Tasklet.Spawn(() => Record.ExceptionAsync(async () => await full.SendAsync(i)))).ToList();
            var empty = new AsyncChannel<int>();
            var receivers = Enumerable.Range(0, 2).Select(_ => Tasklet.Spawn(() => Record.ExceptionAsync(async () => await empty.ReceiveAsync()))).ToList();
            await Tasklet.Yield();
            full.Close();
            empty.Close();
            Assert.Equal(0, full.WaitingSenders);
            Assert.Equal(0, empty.WaitingReceivers);
            foreach (var t in senders.Concat(receivers)) Assert.IsType<AsyncChannelClosedException>(await t);
            Assert.Equal(1, await full.ReceiveAsync()); // the parked senders' values were not sent
            Assert.False(full.TryReceive(out _));
        });
    }

    [Fact]
    public void KilledSender_SendsNothing_AndTheNextSenderIsServed()
    {
        Run(async () =>
        {
            foreach (int capacity in new[] { 0, 1 })
            {
                var ch = new AsyncChannel<int>(capacity);
                if (capacity == 1) await ch.SendAsync(0);
                var victim = Tasklet.Spawn(async () => await ch.SendAsync(1));
                var next = Tasklet.Spawn(async () => await ch.SendAsync(2));
                await Tasklet.Yield();
                victim.Kill();
                await victim.JoinAsync();
                Assert.Equal(TaskletState.Killed, victim.State);
                Assert.Equal(1, ch.WaitingSenders);
                if (capacity == 1) Assert.Equal(0, await ch.ReceiveAsync());
                Assert.Equal(2, await ch.ReceiveAsync());
                await next;
                Assert.False(ch.TryReceive(out _));
            }
        });
    }

    [Fact]
    public void KilledReceiver_TakesNothing_AndTheNextReceiverGetsTheValue()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var victim = Tasklet.Spawn(async () => await ch.ReceiveAsync());
            var next = Tasklet.Spawn(async () => await ch.ReceiveAsync());
            await Tasklet.Yield();
            victim.Kill();
            await victim.JoinAsync();
            Assert.Equal(1, ch.WaitingReceivers);
            await ch.SendAsync(9);
            Assert.Equal(9, await next);
        });
    }

    [Fact]
    public void WokenReceiverKilledBeforeItRuns_KeepsTheValue()
    {
        // trio's rule: the value handed over at wake time is the receiver's; the kill lands later.
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var log = new List<string>();
            var receiver = Tasklet.Spawn(async () =>
            {
                log.Add("got " + await ch.ReceiveAsync());
                try { await Tasklet.Yield(); }
                catch (TaskletExit) { log.Add("killed at the next park"); throw; }
            });
            await Tasklet.Yield();
            Assert.True(ch.TrySend(4));
            receiver.Kill();
            await receiver.JoinAsync();
            Assert.Equal(["got 4", "killed at the next park"], log);
        });
    }

    [Fact]
    public void WokenSenderKilledBeforeItRuns_ItsValueStaysReceived()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            bool sendReturned = false;
            var sender = Tasklet.Spawn(async () =>
            {
                await ch.SendAsync(4);
                sendReturned = true;
                await Tasklet.Yield();
            });
            await Tasklet.Yield();
            Assert.True(ch.TryReceive(out var v));
            sender.Kill();
            await sender.JoinAsync();
            Assert.Equal(4, v);
            Assert.True(sendReturned);
        });
    }

    [Fact]
    public void ScopeTimeout_AtEveryWait_LeavesTheChannelUnchanged()
    {
        Run(async () =>
        {
            var rendezvous = new AsyncChannel<int>();
            var full = new AsyncChannel<int>(1);
            await full.SendAsync(1);
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await rendezvous.SendAsync(5);
            });
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await rendezvous.ReceiveAsync();
            });
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await full.SendAsync(2);
            });
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(TimeSpan.Zero)) await rendezvous.SendExceptionAsync(new Exception());
            });
            Assert.Equal(0, rendezvous.WaitingSenders + rendezvous.WaitingReceivers + full.WaitingSenders);
            Assert.False(rendezvous.TryReceive(out _));
            Assert.Equal(1, full.Count);
            Assert.Equal(1, await full.ReceiveAsync());
            Assert.False(full.TryReceive(out _));
            Assert.False(await CancelScope.MoveOnAfterAsync(Ms(1), async () => { await rendezvous.ReceiveAsync(); }));
            Assert.True(rendezvous.TrySend(1) == false);
        });
    }

    [Fact]
    public void Misuse_IsRefused_WithTheRule()
    {
        Run(async () =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncChannel<int>(-1));
            var ch = new AsyncChannel<int>();
            Assert.Equal(0, ch.Count);
            var e = await Task.Run(() => Record.Exception(() => ch.TrySend(1)));
            Assert.IsType<InvalidOperationException>(e);
            var pending = ch.ReceiveAsync();              // not awaited yet: the tasklet has not parked
            var notAwaited = Assert.Throws<InvalidOperationException>(() => ch.TrySend(1));
            Assert.Contains("await each", notAwaited.Message);
            Assert.Equal(1, ch.WaitingReceivers);          // nothing moved
            var helper = Tasklet.Spawn(async () => await ch.SendAsync(2));
            Assert.Equal(2, await pending);
            await helper;

            var loop = EventLoop.Current;
            Exception? outside = null;
            loop.CallSoon(() => outside = Record.Exception(() => { _ = ch.ReceiveAsync(); }));
            await Tasklet.Yield();
            Assert.IsType<InvalidOperationException>(outside);
            Assert.Contains("outside any tasklet", outside!.Message);
        });
    }

    [Fact]
    public void ToString_SaysWhatIsWaiting()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(2);
            await ch.SendAsync(1);
            var r = ch.ToString();
            Assert.Contains($"AsyncChannel<Int32> #{ch.Id}", r);
            Assert.Contains("capacity 2, 1 buffered", r);
            ch.Close();
            Assert.EndsWith("closed)", ch.ToString());
            Assert.Contains("rendezvous", new AsyncChannel<int>().ToString());
        });
    }

    [Fact]
    public void PingPong_AllocatesNothingInSteadyState()
    {
        // Measured inline: a helper async method would allocate its state machine in Debug builds.
        Run(async () =>
        {
            var ping = new AsyncChannel<int>();
            var pong = new AsyncChannel<int>();
            const int Rounds = 2000;
            var other = Tasklet.Spawn(async () =>
            {
                for (int i = 0; i < 4 * Rounds; i++) await pong.SendAsync(await ping.ReceiveAsync() + 1);
            });
            // The first pass warms up the pools; the least of the next ones is kept, because a
            // one-off runtime event (tiered JIT promotion under a loaded machine) can land in any
            // pass, while a real per-operation allocation shows in all of them.
            long allocated = long.MaxValue;
            for (int pass = 0; pass < 4; pass++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Rounds; i++)
                {
                    await ping.SendAsync(i);
                    if (await pong.ReceiveAsync() != i + 1) throw new InvalidOperationException("wrong value");
                }
                if (pass > 0) allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            await other;
            Assert.True(allocated < Rounds, $"{allocated} B for {Rounds} round trips");
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    [InlineData(1234)]
    public void Random_SendsReceivesClosesAndKills_EveryValueIsReceivedExactlyOnce_OrItsSendFailed(int seed)
    {
        Run(async () =>
        {
            var rng = new Random(seed);
            int capacity = rng.Next(3);
            var ch = new AsyncChannel<int>(capacity);
            var sent = new HashSet<int>();        // sends that returned (or TrySend true)
            var unsent = new HashSet<int>();      // sends that threw: killed, timed out, closed
            var received = new List<int>();
            int nextValue = 0;
            string Where() => $"seed {seed}, capacity {capacity}";

            TimeSpan? RandomScope() => rng.Next(4) switch { 0 => TimeSpan.Zero, 1 => Ms(1), _ => null };

            async Task Worker()
            {
                while (!ch.IsClosed)
                {
                    int op = rng.Next(5);
                    var span = RandomScope();
                    using (span is { } t ? CancelScope.FailAfter(t) : null)
                    {
                        if (op == 0)
                        {
                            int v = nextValue++;
                            try
                            {
                                await ch.SendAsync(v);
                                sent.Add(v);
                            }
                            catch (Exception e) when (e is TaskletExit or TimeoutException or AsyncChannelClosedException)
                            {
                                unsent.Add(v);
                                if (e is not TimeoutException) throw;
                            }
                        }
                        else if (op == 1)
                        {
                            int v = nextValue++;
                            if (ch.TrySend(v)) sent.Add(v); else unsent.Add(v);
                        }
                        else if (op <= 3)
                        {
                            try { received.Add(await ch.ReceiveAsync()); }
                            catch (TimeoutException) { }
                        }
                        else if (ch.TryReceive(out var v))
                        {
                            received.Add(v);
                        }
                    }
                    await Tasklet.Yield();
                }
            }

            var workers = new List<Tasklet>();
            void SpawnWorker() => workers.Add(Tasklet.Spawn(async () =>
            {
                try { await Worker(); }
                catch (Exception e) when (e is TaskletExit or AsyncChannelClosedException) { }
            }));
            for (int i = 0; i < 5; i++) SpawnWorker();
            for (int step = 0; step < 1500; step++)
            {
                if (rng.Next(10) == 0)
                {
                    var live = workers.Where(w => w.IsAlive).ToList();
                    if (live.Count > 0) live[rng.Next(live.Count)].Kill();
                    SpawnWorker();
                }
                await Tasklet.Yield();
                Assert.True(ch.Count <= ch.Capacity, Where());
                Assert.True(ch.WaitingReceivers == 0 || (ch.Count == 0 && ch.WaitingSenders == 0), $"receivers wait on a non-empty channel, {Where()}");
                Assert.True(ch.WaitingSenders == 0 || ch.Count == ch.Capacity, $"senders wait on a buffer with room, {Where()}");
                Assert.True(received.Count == received.Distinct().Count(), $"a value was received twice, {Where()}");
            }
            ch.Close();
            foreach (var w in workers) await w.JoinAsync();
            while (ch.TryReceive(out var left)) received.Add(left);
            Assert.True(received.Count == received.Distinct().Count(), $"a value was received twice, {Where()}");
            Assert.True(sent.SetEquals(received), $"sent and received differ: sent-only [{string.Join(",", sent.Except(received))}], received-only [{string.Join(",", received.Except(sent))}], {Where()}");
            Assert.Empty(sent.Intersect(unsent));
            Assert.Equal(nextValue, sent.Count + unsent.Count);
            Assert.True(received.Count > 100, $"only {received.Count} values went through, {Where()}");
        });
    }

    [Fact]
    public void SystemChannel_WrittenByAThread_IsReadByATaskletOnTheLoopThread()
    {
        Run(async () =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            foreach (var channel in new[] { Channel.CreateUnbounded<int>(), Channel.CreateBounded<int>(2) })
            {
                var forwarded = new AsyncChannel<int>();
                var reader = Tasklet.Spawn(async () =>
                {
                    var me = Tasklet.Current;
                    await foreach (var x in channel.Reader.ReadAllAsync())
                    {
                        Assert.Equal(loopThread, Environment.CurrentManagedThreadId);
                        Assert.Same(me, Tasklet.Current);
                        await forwarded.SendAsync(x);  // a foreign wait, then an Evergreen one
                    }
                    forwarded.Close();
                }, "reader");
                var writer = new Thread(() =>
                {
                    for (int i = 0; i < 100; i++) channel.Writer.WriteAsync(i).AsTask().GetAwaiter().GetResult();
                    channel.Writer.Complete();
                }) { IsBackground = true };
                writer.Start();
                var got = new List<int>();
                await foreach (var x in forwarded) got.Add(x);
                await reader;
                await Task.Run(writer.Join);
                Assert.Equal(Enumerable.Range(0, 100), got);
            }
        });
    }

    [Fact]
    public void ChannelReaderAndWriterViews_WorkForSystemChannelsCode()
    {
        Run(async () =>
        {
            foreach (int capacity in new[] { 0, 2 })
            {
                var ch = new AsyncChannel<int>(capacity);
                ChannelWriter<int> writer = ch.AsChannelWriter();
                ChannelReader<int> reader = ch.AsChannelReader();
                Assert.Same(reader, ch.AsChannelReader());
                var producer = Tasklet.Spawn(async () =>
                {
                    for (int i = 0; i < 5; i++)
                    {
                        if (!writer.TryWrite(i)) await writer.WriteAsync(i);
                    }
                    if (capacity > 0) Assert.True(await writer.WaitToWriteAsync()); // on a rendezvous it would wait for a ReceiveAsync
                    writer.Complete(new IOException("the producer is done"));
                    Assert.False(writer.TryComplete());
                });
                var got = new List<int>();
                await foreach (var x in reader.ReadAllAsync()) got.Add(x);
                Assert.Equal([0, 1, 2, 3, 4], got);
                await producer;
                Assert.True(reader.Completion.IsCompleted);
                Assert.False(await writer.WaitToWriteAsync());
                var e = await Assert.ThrowsAsync<AsyncChannelClosedException>(async () => await reader.ReadAsync());
                Assert.IsType<IOException>(e.InnerException);
                Assert.Contains("the producer is done", e.Message);
            }
        });
    }

    [Fact]
    public void ViewWaits_AreKillable_AndWakeOnTheOtherSide()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(1);
            var reader = ch.AsChannelReader();
            var writer = ch.AsChannelWriter();
            var victim = Tasklet.Spawn(async () => await reader.WaitToReadAsync());
            await Tasklet.Yield();
            victim.Kill();
            await victim.JoinAsync();
            var waiter = Tasklet.Spawn(async () => await reader.WaitToReadAsync());
            await Tasklet.Yield();
            Assert.True(writer.TryWrite(1));
            Assert.True(await waiter);
            Assert.Equal(1, reader.Count);
            await Assert.ThrowsAsync<TimeoutException>(async () =>
            {
                using (CancelScope.FailAfter(Ms(2))) await writer.WaitToWriteAsync();
            });
            var writable = Tasklet.Spawn(async () => await writer.WaitToWriteAsync());
            await Tasklet.Yield();
            Assert.True(reader.TryRead(out var one));
            Assert.Equal(1, one);
            Assert.True(await writable);
            Assert.False(reader.Completion.IsCompleted);
            writer.Complete();
            Assert.True(reader.Completion.IsCompleted);
            Assert.False(await reader.WaitToReadAsync());
        });
    }

    [Fact]
    public void ReceiveAsync_WithATimeout_ThrowsTimeoutExceptionNamingTheChannel_AndTakesNothing()
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>();
            var e = await Assert.ThrowsAsync<TimeoutException>(async () => await ch.ReceiveAsync(Ms(2)));
            Assert.Contains("AsyncChannel<Int32> #", e.Message);
            Assert.Contains("2 ms", e.Message);
            Assert.Equal(0, ch.WaitingReceivers);
            Assert.False(ch.TrySend(1)); // no ghost receiver is left to take it
            await Assert.ThrowsAsync<TimeoutException>(async () => await ch.ReceiveAsync(TimeSpan.Zero));
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ch.ReceiveAsync(Ms(-5)); });

            var sender = Tasklet.Spawn(async () => await ch.SendAsync(7));
            Assert.Equal(7, await ch.ReceiveAsync(TimeSpan.FromSeconds(30))); // in time: the value
            await sender;
            var buffered = new AsyncChannel<int>(1);
            buffered.TrySend(8);
            Assert.Equal(8, await buffered.ReceiveAsync(TimeSpan.Zero)); // no wait needed: no timeout
        });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SendAsync_WithATimeout_ThrowsTimeoutExceptionNamingTheChannel_AndHandsNothingOver(int capacity)
    {
        Run(async () =>
        {
            var ch = new AsyncChannel<int>(capacity);
            if (capacity > 0) await ch.SendAsync(1);
            var e = await Assert.ThrowsAsync<TimeoutException>(async () => await ch.SendAsync(2, Ms(2)));
            Assert.Contains("AsyncChannel<Int32> #", e.Message);
            Assert.Contains("2 ms", e.Message);
            Assert.Equal(0, ch.WaitingSenders);
            Assert.Equal(capacity, ch.Count);
            await Assert.ThrowsAsync<TimeoutException>(async () => await ch.SendExceptionAsync(new InvalidOperationException("x"), TimeSpan.Zero));
            Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ch.SendAsync(3, Ms(-5)); });
            if (capacity > 0) Assert.Equal(1, await ch.ReceiveAsync(TimeSpan.Zero));
            Assert.False(ch.TryReceive(out _)); // the timed-out sends handed nothing over

            var receiver = Tasklet.Spawn(async () => await ch.ReceiveAsync());
            await Tasklet.Yield();
            await ch.SendAsync(9, TimeSpan.FromSeconds(30)); // in time
            Assert.Equal(9, await receiver);
        });
    }
}
