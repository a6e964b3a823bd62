namespace Evergreen.Benchmarks;

/// <summary>
/// The smallest single-threaded SynchronizationContext: Post enqueues (callback, state) in a
/// <see cref="Queue{T}"/>, and <see cref="Run{T}"/> drains it on the calling thread until the main
/// task completes. The plain-async-Task baseline for skynet; no libuv, no tasklets.
/// </summary>
internal sealed class SingleThreadPump : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _queue = new();

    public override void Post(SendOrPostCallback d, object? state) => _queue.Enqueue((d, state));

    public override void Send(SendOrPostCallback d, object? state) => d(state);

    public override SynchronizationContext CreateCopy() => this;

    public static T Run<T>(Func<Task<T>> main)
    {
        var pump = new SingleThreadPump();
        var saved = Current;
        SetSynchronizationContext(pump);
        try
        {
            var task = main();
            while (!task.IsCompleted)
            {
                if (!pump._queue.TryDequeue(out var item))
                {
                    throw new InvalidOperationException("the pump ran dry before the main task completed");
                }
                item.Callback(item.State);
            }
            return task.GetAwaiter().GetResult();
        }
        finally
        {
            SetSynchronizationContext(saved);
        }
    }
}
