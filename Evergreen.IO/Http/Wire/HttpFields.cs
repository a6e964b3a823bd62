using System.Collections;
using System.Diagnostics;
using System.Text;

namespace Evergreen.IO.Http;

/// <summary>
/// The header fields of an Evergreen HTTP message: an ordered list of name/value pairs, names
/// matched case-insensitively, a name may repeat (RFC 9110 §5). Not thread-safe; use it from the
/// loop thread that owns the message.
/// </summary>
[DebuggerDisplay("HttpFields, {Count} fields")]
public sealed class HttpFields : IEnumerable<KeyValuePair<string, string>>
{
    private string[] _names;
    private string[] _values;
    private int _count;

    /// <summary>Creates an empty list.</summary>
    public HttpFields() : this(8)
    {
    }

    internal HttpFields(int capacity)
    {
        _names = new string[Math.Max(capacity, 1)];
        _values = new string[_names.Length];
    }

    /// <summary>How many fields there are (a repeated name counts once per line).</summary>
    public int Count => _count;

    /// <summary>Appends a field, keeping any others of the same name.</summary>
    /// <exception cref="ArgumentException">The name is not an RFC 9110 token, or the value holds CR, LF or NUL (header injection).</exception>
    public void Add(string name, string value)
    {
        Validate(name, value);
        AddUnchecked(name, value);
    }

    /// <summary>Replaces every field named <paramref name="name"/> with one holding <paramref name="value"/>.</summary>
    /// <exception cref="ArgumentException">As <see cref="Add"/>.</exception>
    public void Set(string name, string value)
    {
        Validate(name, value);
        Remove(name);
        AddUnchecked(name, value);
    }

    /// <summary>The first value of the field named <paramref name="name"/>, or null.</summary>
    public string? Get(string name)
    {
        for (int i = 0; i < _count; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.OrdinalIgnoreCase)) return _values[i];
        }
        return null;
    }

    /// <summary>Every value of the field named <paramref name="name"/>, in order (empty if none).</summary>
    public IReadOnlyList<string> GetAll(string name)
    {
        List<string>? all = null;
        for (int i = 0; i < _count; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.OrdinalIgnoreCase)) (all ??= []).Add(_values[i]);
        }
        return all ?? (IReadOnlyList<string>)Array.Empty<string>();
    }

    /// <summary>Whether a field named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => IndexOf(name) >= 0;

    /// <summary>Removes every field named <paramref name="name"/> and returns how many there were.</summary>
    public int Remove(string name)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.OrdinalIgnoreCase)) continue;
            _names[kept] = _names[i];
            _values[kept] = _values[i];
            kept++;
        }
        int removed = _count - kept;
        Array.Clear(_names, kept, removed);
        Array.Clear(_values, kept, removed);
        _count = kept;
        return removed;
    }

    /// <summary>Removes every field.</summary>
    public void Clear()
    {
        Array.Clear(_names, 0, _count);
        Array.Clear(_values, 0, _count);
        _count = 0;
    }

    /// <summary>Whether the comma-separated list in the fields named <paramref name="name"/> holds <paramref name="token"/> (case-insensitive), as for <c>Connection: keep-alive, Upgrade</c>.</summary>
    public bool HasToken(string name, string token)
    {
        for (int i = 0; i < _count; i++)
        {
            if (!string.Equals(_names[i], name, StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var range in _values[i].AsSpan().Split(','))
            {
                if (_values[i].AsSpan(range).Trim(" \t").Equals(token, StringComparison.OrdinalIgnoreCase)) return true;
            }
        }
        return false;
    }

    /// <summary>Returns an enumerator over the fields in order (no allocation in a <c>foreach</c>).</summary>
    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, string>> IEnumerable<KeyValuePair<string, string>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The fields as they go on the wire, one <c>Name: value</c> per line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        for (int i = 0; i < _count; i++) text.Append(_names[i]).Append(": ").Append(_values[i]).Append("\r\n");
        return text.ToString();
    }

    internal string NameAt(int index) => _names[index];

    internal string ValueAt(int index) => _values[index];

    /// <summary>Appends to the last field's value (an obsolete folded line of a response).</summary>
    internal void AppendToLast(string more) => _values[_count - 1] = _values[_count - 1] + " " + more;

    /// <summary>Appends a field the wire parser already validated.</summary>
    internal void AddUnchecked(string name, string value)
    {
        if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
        }
        _names[_count] = name;
        _values[_count] = value;
        _count++;
    }

    private int IndexOf(string name)
    {
        for (int i = 0; i < _count; i++)
        {
            if (string.Equals(_names[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        }
        return -1;
    }

    private static void Validate(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (name.Length == 0) throw new ArgumentException("a header field name cannot be empty", nameof(name));
        foreach (char c in name)
        {
            if (c > 127 || !HttpWire.IsTokenChar((byte)c))
            {
                throw new ArgumentException($"\"{name}\" is not a valid header field name (RFC 9110 token characters only)", nameof(name));
            }
        }
        foreach (char c in value)
        {
            if (c is '\r' or '\n' or '\0' || c > 255)
            {
                throw new ArgumentException($"the value of header \"{name}\" holds a CR, LF, NUL or non-Latin-1 character: it would break or inject into the message head", nameof(value));
            }
        }
    }

    /// <summary>Enumerates the fields in order.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<string, string>>
    {
        private readonly HttpFields _fields;
        private int _index;

        internal Enumerator(HttpFields fields)
        {
            _fields = fields;
            _index = -1;
        }

        /// <inheritdoc/>
        public readonly KeyValuePair<string, string> Current => new(_fields._names[_index], _fields._values[_index]);

        readonly object IEnumerator.Current => Current;

        /// <inheritdoc/>
        public bool MoveNext() => ++_index < _fields._count;

        /// <inheritdoc/>
        public void Reset() => _index = -1;

        /// <inheritdoc/>
        public readonly void Dispose()
        {
        }
    }
}
