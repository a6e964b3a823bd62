using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>A <see cref="Tasklet"/> whose body produces a value; <c>await</c> it to get the value.</summary>
public class Tasklet<T> : Tasklet
{
    private T _result = default!;

    /// <summary>Creates a tasklet that will run <paramref name="body"/> when started.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    [OverloadResolutionPriority(1)] // an async lambda fits both the Task and the ValueTask form: it is a Task
    public Tasklet(Func<Task<T>> body, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(body);
        _body = body;
    }

    /// <summary>Creates a tasklet that will run <paramref name="body"/>, which returns a <see cref="ValueTask{TResult}"/>, when started.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public Tasklet(Func<ValueTask<T>> body, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(body);
        _body = body;
    }

    /// <summary>For subclasses, which override <see cref="RunAsync"/>.</summary>
    protected Tasklet(string? name = null) : base(name) { }

    /// <summary>The tasklet's body; a subclass overrides it.</summary>
    protected override Task<T> RunAsync() => _body switch
    {
        Func<Task<T>> f => f(),
        Func<ValueTask<T>> f => f().AsTask(),
        _ => throw new InvalidOperationException($"{Describe()} has no body: pass a function to the constructor or override RunAsync."),
    };

    /// <summary>The value the body returned.</summary>
    /// <exception cref="InvalidOperationException">The tasklet has not completed successfully (see <see cref="Tasklet.State"/>).</exception>
    public T Result => State == TaskletState.Completed
        ? _result
        : throw new InvalidOperationException($"{Describe()} has no result: it is {State}.");

    internal T ResultUnchecked => _result;

    internal override void CaptureResult(Task body) => _result = ((Task<T>)body).GetAwaiter().GetResult();

    /// <summary>Awaits the tasklet for its value (for <c>await</c> only: it parks the current tasklet).</summary>
    public new TaskletAwaiter<T> GetAwaiter() => new(this);
}
