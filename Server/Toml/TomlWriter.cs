using System.Globalization;
using System.Text;

namespace ScriptFtp.Toml;

/// <summary>Turns the value model back into TOML text.</summary>
internal static class TomlWriter
{
    public static string Write(TomlTable table)
    {
        var sb = new StringBuilder();
        WriteBody(sb, table, []);
        return sb.ToString();
    }

    private static bool IsTableArray(object value) =>
        value is TomlArray { Count: > 0 } array && array.All(item => item is TomlTable);

    private static void WriteBody(StringBuilder sb, TomlTable table, List<string> path)
    {
        // Plain values must precede every header of the section, so they are written first.
        foreach (var (key, value) in table)
        {
            if (value is TomlTable || IsTableArray(value)) continue;
            sb.Append(FormatKey(key)).Append(" = ");
            AppendValue(sb, value);
            sb.Append('\n');
        }
        foreach (var (key, value) in table)
        {
            path.Add(key);
            if (value is TomlTable child)
            {
                var hasPlainValues = child.Values.Any(v => v is not TomlTable && !IsTableArray(v));
                // A table holding only sub-tables is created implicitly by their headers.
                if (hasPlainValues || child.Count == 0)
                {
                    if (sb.Length > 0) sb.Append('\n');
                    sb.Append('[').Append(FormatPath(path)).Append(']').Append('\n');
                }
                WriteBody(sb, child, path);
            }
            else if (IsTableArray(value))
            {
                foreach (TomlTable element in (TomlArray)value)
                {
                    if (sb.Length > 0) sb.Append('\n');
                    sb.Append("[[").Append(FormatPath(path)).Append("]]").Append('\n');
                    WriteBody(sb, element, path);
                }
            }
            path.RemoveAt(path.Count - 1);
        }
    }

    public static string FormatPath(IEnumerable<string> path) => string.Join('.', path.Select(FormatKey));

    public static string FormatKey(string key)
    {
        if (key.Length > 0 && key.All(TomlParser.IsBareKeyChar))
            return key;
        var sb = new StringBuilder();
        AppendString(sb, key);
        return sb.ToString();
    }

    public static string FormatValue(object value)
    {
        var sb = new StringBuilder();
        AppendValue(sb, TomlValues.Normalize(value));
        return sb.ToString();
    }

    private static void AppendValue(StringBuilder sb, object value)
    {
        switch (value)
        {
            case string s:
                AppendString(sb, s);
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(FormatFloat(d));
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case DateTimeOffset dto:
                AppendDate(sb, DateOnly.FromDateTime(dto.DateTime));
                sb.Append('T');
                AppendTime(sb, TimeOnly.FromDateTime(dto.DateTime));
                if (dto.Offset == TimeSpan.Zero)
                {
                    sb.Append('Z');
                }
                else
                {
                    var offset = dto.Offset;
                    sb.Append(offset < TimeSpan.Zero ? '-' : '+');
                    offset = offset.Duration();
                    sb.Append(offset.Hours.ToString("00", CultureInfo.InvariantCulture)).Append(':')
                      .Append(offset.Minutes.ToString("00", CultureInfo.InvariantCulture));
                }
                break;
            case DateTime dt:
                AppendDate(sb, DateOnly.FromDateTime(dt));
                sb.Append('T');
                AppendTime(sb, TimeOnly.FromDateTime(dt));
                break;
            case DateOnly date:
                AppendDate(sb, date);
                break;
            case TimeOnly time:
                AppendTime(sb, time);
                break;
            case TomlArray array:
                sb.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendValue(sb, array[i]);
                }
                sb.Append(']');
                break;
            case TomlTable table:
                if (table.Count == 0)
                {
                    sb.Append("{}");
                    break;
                }
                sb.Append("{ ");
                var first = true;
                foreach (var (key, item) in table)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    sb.Append(FormatKey(key)).Append(" = ");
                    AppendValue(sb, item);
                }
                sb.Append(" }");
                break;
            default:
                throw new ArgumentException($"values of type {value.GetType()} cannot be stored in TOML");
        }
    }

    private static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        var s = d.ToString("R", CultureInfo.InvariantCulture);
        // TOML needs a '.' or an exponent to tell a float from an integer.
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    private static void AppendDate(StringBuilder sb, DateOnly date) =>
        sb.Append(date.ToString("yyyy'-'MM'-'dd", CultureInfo.InvariantCulture));

    private static void AppendTime(StringBuilder sb, TimeOnly time)
    {
        sb.Append(time.ToString("HH':'mm':'ss", CultureInfo.InvariantCulture));
        var fraction = time.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
            sb.Append('.').Append(fraction.ToString("0000000", CultureInfo.InvariantCulture).TrimEnd('0'));
    }

    private static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\f': sb.Append("\\f"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < ' ' || c == '\u007f') sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
