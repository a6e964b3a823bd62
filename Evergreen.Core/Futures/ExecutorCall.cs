namespace Evergreen;

/// <summary>
/// One submitted call and its future: the unit an <see cref="Executor"/> queues and runs. The call
/// runs in two halves so that both executors share it: <see cref="Start"/> runs it up to its first
/// await, on a worker tasklet or a pool thread, and stores the outcome; <see cref="Publish"/> hands
/// that outcome to the future, on the loop thread. An async call's task is awaited by the runner,
/// which then calls <see cref="End"/> (a ValueTask call is made a Task only when it did not finish
/// synchronously). Also the thread-pool work item of
/// <see cref="ThreadPoolExecutor"/> (no extra node per call).
/// </summary>
internal abstract class ExecutorCall : IThreadPoolWorkItem
{
    /// <summary>The call's exception, once it has finished with one.</summary>
    internal Exception? Error;

    /// <summary>The worker tasklet whose kill ended the call (the Error is then its TaskletExit).</summary>
    internal Tasklet? KilledWorker;

    /// <summary>The executor that dispatched the call to the .NET thread pool, while it is there.</summary>
    internal ThreadPoolExecutor? Pool;

    internal abstract Future Future { get; }

    /// <summary>Runs the call up to its first await: null when it has finished (outcome stored), else its pending task.</summary>
    internal abstract Task? Start();

    /// <summary>Stores the outcome of the task <see cref="Start"/> returned, once it has completed.</summary>
    internal abstract void End(Task task);

    /// <summary>Finishes the future with the stored outcome (loop thread); a future set meanwhile by someone else is left alone.</summary>
    internal abstract void Publish();

    void IThreadPoolWorkItem.Execute() => Pool!.RunOnPoolThread(this);
}

/// <summary>A call producing a <typeparamref name="T"/>; subclasses say how to invoke it.</summary>
internal abstract class ExecutorCall<T>(Future<T> future) : ExecutorCall
{
    private readonly Future<T> _future = future;
    private T _value = default!;

    internal override Future Future => _future;

    internal Future<T> TypedFuture => _future;

    /// <summary>Invokes the call: a synchronous one returns its value; an async one returns its task in <paramref name="task"/>.</summary>
    private protected abstract T Invoke(out Task? task);

    /// <summary>The value of a completed task (rethrows its exception).</summary>
    private protected virtual T ResultOf(Task task) => ((Task<T>)task).GetAwaiter().GetResult();

    internal sealed override Task? Start()
    {
        try
        {
            _value = Invoke(out var task);
            if (task is null) return null;
            if (!task.IsCompleted) return task;
            End(task);
        }
        catch (Exception e)
        {
            Error = e;
        }
        return null;
    }

    internal sealed override void End(Task task)
    {
        try
        {
            _value = ResultOf(task);
        }
        catch (Exception e)
        {
            Error = e;
        }
    }

    internal sealed override void Publish()
    {
        if (Error is null) _future.TrySetResult(_value);
        else if (KilledWorker is { } worker) _future.SetKilled(Error, worker);
        else _future.TrySetException(Error);
        _value = default!;
    }
}

internal sealed class FuncCall<T>(Future<T> future, Func<T> call) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task)
    {
        task = null;
        return call();
    }
}

internal sealed class AsyncFuncCall<T>(Future<T> future, Func<Task<T>> call) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task)
    {
        task = call() ?? throw new InvalidOperationException("the submitted async function returned a null Task");
        return default!;
    }
}

internal sealed class ValueTaskFuncCall<T>(Future<T> future, Func<ValueTask<T>> call) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task) => ValueTaskCalls.Start(call(), out task);
}

internal sealed class ActionCall(Future<object?> future, Action call) : ExecutorCall<object?>(future)
{
    private protected override object? Invoke(out Task? task)
    {
        task = null;
        call();
        return null;
    }
}

internal sealed class AsyncActionCall(Future<object?> future, Func<Task> call) : ExecutorCall<object?>(future)
{
    private protected override object? Invoke(out Task? task)
    {
        task = call() ?? throw new InvalidOperationException("the submitted async function returned a null Task");
        return null;
    }

    private protected override object? ResultOf(Task task)
    {
        task.GetAwaiter().GetResult();
        return null;
    }
}

internal sealed class ValueTaskActionCall(Future<object?> future, Func<ValueTask> call) : ExecutorCall<object?>(future)
{
    private protected override object? Invoke(out Task? task)
    {
        var pending = call();
        if (pending.IsCompletedSuccessfully)
        {
            pending.GetAwaiter().GetResult(); // releases a pooled source
            task = null;
        }
        else
        {
            task = pending.AsTask();
        }
        return null;
    }

    private protected override object? ResultOf(Task task)
    {
        task.GetAwaiter().GetResult();
        return null;
    }
}

/// <summary>A ValueTask call's first half: its value when it finished synchronously (no Task made), else its task.</summary>
internal static class ValueTaskCalls
{
    internal static T Start<T>(ValueTask<T> pending, out Task? task)
    {
        if (pending.IsCompletedSuccessfully)
        {
            task = null;
            return pending.Result;
        }
        task = pending.AsTask();
        return default!;
    }
}

/// <summary>One item of <see cref="Executor.MapAsync{TItem, TResult}(Func{TItem, TResult}, IEnumerable{TItem}, TimeSpan?)"/>: the function and its item, no closure.</summary>
internal sealed class MapCall<TItem, T>(Future<T> future, Func<TItem, T> call, TItem item) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task)
    {
        task = null;
        return call(item);
    }
}

internal sealed class AsyncMapCall<TItem, T>(Future<T> future, Func<TItem, Task<T>> call, TItem item) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task)
    {
        task = call(item) ?? throw new InvalidOperationException("the mapped async function returned a null Task");
        return default!;
    }
}

internal sealed class ValueTaskMapCall<TItem, T>(Future<T> future, Func<TItem, ValueTask<T>> call, TItem item) : ExecutorCall<T>(future)
{
    private protected override T Invoke(out Task? task) => ValueTaskCalls.Start(call(item), out task);
}
