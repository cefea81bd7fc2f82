// A small JSON reader and string writer: enough for the engine's documents, with numbers
// kept as their exact source text (never a double) and object keys in document order.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace StackBill
{
    /// <summary>A JSON number, kept as written.</summary>
    public sealed class JsonNumber : IEquatable<JsonNumber>
    {
        public JsonNumber(string text) { Text = text; }
        public string Text { get; private set; }
        public bool Equals(JsonNumber other) { return other != null && other.Text == Text; }
        public override bool Equals(object obj) { return Equals(obj as JsonNumber); }
        public override int GetHashCode() { return Text.GetHashCode(); }
        public override string ToString() { return Text; }
    }

    /// <summary>
    /// Reads JSON into <see cref="Dictionary{TKey,TValue}"/> (objects, keys in order of
    /// insertion), <see cref="List{T}"/> (arrays), string, <see cref="JsonNumber"/>, bool
    /// and null.
    /// </summary>
    public static class Json
    {
        public static object Parse(string text)
        {
            int at = 0;
            object value = Value(text, ref at);
            Space(text, ref at);
            if (at != text.Length) throw Fail(text, at, "trailing characters");
            return value;
        }

        /// <summary>Structural equality of two parsed documents (object key order ignored).</summary>
        public static bool DeepEquals(object a, object b)
        {
            if (a == null || b == null) return a == null && b == null;
            var da = a as Dictionary<string, object>;
            var db = b as Dictionary<string, object>;
            if (da != null || db != null)
            {
                if (da == null || db == null || da.Count != db.Count) return false;
                foreach (var kv in da)
                {
                    object other;
                    if (!db.TryGetValue(kv.Key, out other) || !DeepEquals(kv.Value, other)) return false;
                }
                return true;
            }
            var la = a as List<object>;
            var lb = b as List<object>;
            if (la != null || lb != null)
            {
                if (la == null || lb == null || la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++)
                {
                    if (!DeepEquals(la[i], lb[i])) return false;
                }
                return true;
            }
            return a.Equals(b);
        }

        /// <summary>A JSON string literal for <paramref name="s"/> (null gives <c>null</c>).</summary>
        public static string Quote(string s)
        {
            if (s == null) return "null";
            var sb = new StringBuilder(s.Length + 2);
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        private static FormatException Fail(string text, int at, string what)
        {
            return new FormatException("JSON: " + what + " at offset " + at);
        }

        private static void Space(string t, ref int at)
        {
            while (at < t.Length && (t[at] == ' ' || t[at] == '\n' || t[at] == '\r' || t[at] == '\t')) at++;
        }

        private static object Value(string t, ref int at)
        {
            Space(t, ref at);
            if (at >= t.Length) throw Fail(t, at, "unexpected end");
            char c = t[at];
            if (c == '{') return Object(t, ref at);
            if (c == '[') return Array(t, ref at);
            if (c == '"') return String(t, ref at);
            if (Literal(t, ref at, "true")) return true;
            if (Literal(t, ref at, "false")) return false;
            if (Literal(t, ref at, "null")) return null;
            int start = at;
            while (at < t.Length && "+-0123456789.eE".IndexOf(t[at]) >= 0) at++;
            if (at == start) throw Fail(t, at, "unexpected character '" + c + "'");
            return new JsonNumber(t.Substring(start, at - start));
        }

        private static bool Literal(string t, ref int at, string word)
        {
            if (string.CompareOrdinal(t, at, word, 0, word.Length) != 0) return false;
            at += word.Length;
            return true;
        }

        private static Dictionary<string, object> Object(string t, ref int at)
        {
            var o = new Dictionary<string, object>();
            at++;
            Space(t, ref at);
            if (at < t.Length && t[at] == '}') { at++; return o; }
            while (true)
            {
                Space(t, ref at);
                if (at >= t.Length || t[at] != '"') throw Fail(t, at, "expected a key");
                string key = String(t, ref at);
                Space(t, ref at);
                if (at >= t.Length || t[at] != ':') throw Fail(t, at, "expected ':'");
                at++;
                o[key] = Value(t, ref at);
                Space(t, ref at);
                if (at < t.Length && t[at] == ',') { at++; continue; }
                if (at < t.Length && t[at] == '}') { at++; return o; }
                throw Fail(t, at, "expected ',' or '}'");
            }
        }

        private static List<object> Array(string t, ref int at)
        {
            var a = new List<object>();
            at++;
            Space(t, ref at);
            if (at < t.Length && t[at] == ']') { at++; return a; }
            while (true)
            {
                a.Add(Value(t, ref at));
                Space(t, ref at);
                if (at < t.Length && t[at] == ',') { at++; continue; }
                if (at < t.Length && t[at] == ']') { at++; return a; }
                throw Fail(t, at, "expected ',' or ']'");
            }
        }

        private static string String(string t, ref int at)
        {
            var sb = new StringBuilder();
            at++;
            while (at < t.Length)
            {
                char c = t[at++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (at >= t.Length) break;
                char e = t[at++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (at + 4 > t.Length) throw Fail(t, at, "short \\u escape");
                        sb.Append((char)int.Parse(t.Substring(at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        at += 4;
                        break;
                    default: throw Fail(t, at, "bad escape");
                }
            }
            throw Fail(t, at, "unterminated string");
        }
    }
}
