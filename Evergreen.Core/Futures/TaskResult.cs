namespace Evergreen;

/// <summary>
/// Whether <typeparamref name="T"/> is a task type (Task, Task&lt;U&gt;, ValueTask, ValueTask&lt;U&gt;):
/// the APIs that run synchronous work refuse such a result, since the work it stands for would
/// run on unawaited (an async lambda bound to a <c>Func&lt;T&gt;</c>).
/// </summary>
internal static class TaskResult<T>
{
    internal static readonly bool IsTask =
        typeof(Task).IsAssignableFrom(typeof(T)) || typeof(T) == typeof(ValueTask) ||
        (typeof(T).IsGenericType && typeof(T).GetGenericTypeDefinition() == typeof(ValueTask<>));

    /// <summary>The type as C# writes it: <c>Task&lt;Int32&gt;</c>.</summary>
    internal static string Display(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(Display))}>"
        : type.Name;
}
