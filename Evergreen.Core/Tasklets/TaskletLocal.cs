using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Evergreen;

/// <summary>
/// Storage with one value per tasklet (Evergreen's <c>local</c>, Python's <c>threading.local</c>):
/// a value set in one tasklet is not seen by another, and a child does not inherit it. Values are
/// kept on the tasklet object (not in an <c>AsyncLocal</c>) and released when the tasklet ends.
/// Loop thread only, inside a tasklet.
/// </summary>
[DebuggerDisplay("TaskletLocal<{typeof(T).Name,nq}>")]
public sealed class TaskletLocal<T>
{
    private readonly Func<T>? _initialValue;

    /// <summary>Creates a local whose unset value reads as <c>default(T)</c>.</summary>
    public TaskletLocal() { }

    /// <summary>Creates a local whose value in each tasklet starts as <paramref name="initialValue"/>() on first read.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="initialValue"/> is null.</exception>
    public TaskletLocal(Func<T> initialValue)
    {
        ArgumentNullException.ThrowIfNull(initialValue);
        _initialValue = initialValue;
    }

    /// <summary>
    /// The current tasklet's value. Reading an unset value gives the initial value (stored from then
    /// on) or <c>default(T)</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no current tasklet.</exception>
    public T Value
    {
        get
        {
            var t = CurrentTasklet();
            if (Find(t) is { } box) return box.Value!;
            if (_initialValue is null) return default!;
            var value = _initialValue();
            Add(t, value);
            return value;
        }
        set
        {
            var t = CurrentTasklet();
            if (Find(t) is { } box) box.Value = value;
            else Add(t, value);
        }
    }

    /// <summary>True when the current tasklet has a value (set, or initialised by a read).</summary>
    /// <exception cref="InvalidOperationException">There is no current tasklet.</exception>
    public bool HasValue => Find(CurrentTasklet()) is not null;

    /// <summary>Removes the current tasklet's value.</summary>
    /// <exception cref="InvalidOperationException">There is no current tasklet.</exception>
    public void Clear()
    {
        var x = CurrentTasklet()._x;
        if (x?.Locals is not { } slots) return;
        for (int i = 0; i < x.LocalCount; i++)
        {
            if (!ReferenceEquals(slots[i].Key, this)) continue;
            slots[i] = slots[--x.LocalCount];
            slots[x.LocalCount] = default;
            return;
        }
    }

    private static Tasklet CurrentTasklet() => Tasklet.Current ?? throw new InvalidOperationException(
        "TaskletLocal holds one value per tasklet, and there is no current tasklet here (a loop callback, or another thread).");

    private StrongBox<T>? Find(Tasklet t)
    {
        var x = t._x;
        if (x?.Locals is not { } slots) return null;
        for (int i = 0; i < x.LocalCount; i++)
        {
            if (ReferenceEquals(slots[i].Key, this)) return (StrongBox<T>)slots[i].Box;
        }
        return null;
    }

    private void Add(Tasklet t, T value)
    {
        var x = t.Extras;
        x.Locals ??= new LocalSlot[4];
        if (x.LocalCount == x.Locals.Length) Array.Resize(ref x.Locals, x.Locals.Length * 2);
        x.Locals[x.LocalCount++] = new LocalSlot { Key = this, Box = new StrongBox<T>(value) };
    }
}
