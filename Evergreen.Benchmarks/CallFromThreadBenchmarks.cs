using BenchmarkDotNet.Attributes;

namespace Evergreen.Benchmarks;

/// <summary>
/// A round trip between a tasklet and a dedicated OS thread: the tasklet signals the worker, then
/// waits; the worker wakes it through the loop's one thread-safe door. One operation is one round
/// trip; 10,000 per invocation on a fresh loop. The baseline is the same ping-pong between two
/// plain threads (no loop), signalling each other the same way.
/// <para>
/// How the worker waits decides most of the cost, so both ways are measured: <c>Spinning</c>, a
/// <see cref="SemaphoreSlim"/>, which spins briefly before it blocks (with 2 cores the worker often
/// catches the signal while spinning); <c>Blocking</c>, a non-spinning event (spinCount 0), so each
/// handoff to the worker is a kernel wake-up. The loop itself never spins: when nothing is ready
/// it blocks in epoll_wait. OS wake-ups are noisy: 15 iterations instead of 8.
/// </para>
/// </summary>
[MemoryDiagnoser]
[IterationCount(15)]
[MinColumn, MedianColumn, MaxColumn]
public class CallFromThreadBenchmarks
{
    private const int RoundTrips = 10_000;

    public enum WorkerWait { Spinning, Blocking }

    private enum Mode { Reply, UnparkOne, CompleteTask }

    private static Signal s_request = null!;
    private static Signal s_reply = null!;
    private static readonly WaitQueue s_queue = new("the worker thread");
    private static readonly Action s_unparkOne = static () => s_queue.UnparkOne();
    private static volatile EventLoop? s_loop;
    private static volatile TaskCompletionSource? s_tcs;
    private static volatile Mode s_mode;
    private static volatile bool s_stop;
    private Thread? _worker;

    [Params(WorkerWait.Spinning, WorkerWait.Blocking)]
    public WorkerWait Wait;

    [GlobalSetup]
    public void StartWorker()
    {
        s_request = new Signal(Wait == WorkerWait.Spinning);
        s_reply = new Signal(Wait == WorkerWait.Spinning);
        s_stop = false;
        _worker = new Thread(Work) { IsBackground = true, Name = "benchmark worker" };
        _worker.Start();
    }

    [GlobalCleanup]
    public void StopWorker()
    {
        s_stop = true;
        s_request.Set();
        _worker!.Join();
    }

    private static void Work()
    {
        while (true)
        {
            s_request.Wait();
            if (s_stop) return;
            switch (s_mode)
            {
                case Mode.Reply:
                    s_reply.Set();
                    break;
                case Mode.UnparkOne:
                    s_loop!.CallFromThread(s_unparkOne);
                    break;
                default:
                    s_tcs!.SetResult();
                    break;
            }
        }
    }

    /// <summary>Two plain threads, no loop: signal the worker, wait for its reply.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTrips)]
    public void ThreadPingPong()
    {
        s_mode = Mode.Reply;
        for (int i = 0; i < RoundTrips; i++)
        {
            s_request.Set();
            s_reply.Wait();
        }
    }

    /// <summary>
    /// The tasklet parks on a <see cref="WaitQueue"/>; the worker calls
    /// <c>loop.CallFromThread(() =&gt; queue.UnparkOne())</c>. The loop runs with RunForever: a park
    /// on a WaitQueue is not a foreign wait, so with Run() the loop would see nothing that could
    /// wake the tasklet and report a deadlock before the worker's call arrives.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void ParkUnpark()
    {
        s_mode = Mode.UnparkOne;
        using var loop = new EventLoop();
        s_loop = loop;
        loop.Spawn(static async () =>
        {
            // The worker wakes us through CallFromThread, which the loop cannot see coming.
            using var hold = EventLoop.Current.KeepAlive();
            for (int i = 0; i < RoundTrips; i++)
            {
                s_request.Set();
                await s_queue.ParkAsync();
            }
        });
        loop.Run();
        s_loop = null;
    }

    /// <summary>
    /// The tasklet awaits an ordinary <see cref="Task"/> that the worker completes
    /// (<c>TaskCompletionSource.SetResult</c>): the continuation comes back through the tasklet's
    /// SynchronizationContext, which posts through the same cross-thread queue. Allocates the
    /// TaskCompletionSource, its Task and the context continuation per round trip.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public void ForeignTask()
    {
        s_mode = Mode.CompleteTask;
        using var loop = new EventLoop();
        loop.Spawn(static async () =>
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                var tcs = new TaskCompletionSource();
                s_tcs = tcs;
                s_request.Set();
                await tcs.Task;
            }
        });
        loop.Run();
    }

    /// <summary>An auto-reset signal: a SemaphoreSlim (spins, then blocks) or a non-spinning event.</summary>
    private sealed class Signal(bool spinning)
    {
        private readonly SemaphoreSlim? _semaphore = spinning ? new SemaphoreSlim(0) : null;
        private readonly ManualResetEventSlim? _event = spinning ? null : new ManualResetEventSlim(false, spinCount: 0);

        public void Set()
        {
            if (_semaphore is not null) _semaphore.Release(); else _event!.Set();
        }

        public void Wait()
        {
            if (_semaphore is not null)
            {
                _semaphore.Wait();
                return;
            }
            _event!.Wait();
            _event.Reset();
        }
    }
}
