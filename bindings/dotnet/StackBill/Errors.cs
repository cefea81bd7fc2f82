// The exception hierarchy, built from the error documents of stackbill_ffi (one class per
// kind of bindings/dotnet/ffi/src/error.rs): StackBillException → InvalidScenarioException
// (with Problems), MalformedInputException, UnreadableInputException, UsageFileException,
// AmountOverflowException, ScopeException.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;

namespace StackBill
{
    /// <summary>One problem of an invalid scenario: the contract path and what is wrong.</summary>
    public sealed class Problem
    {
        public Problem(string path, string message) { Path = path; Message = message; }
        /// <summary>Dotted path with [index], e.g. <c>price_lists[0].items[1].rate</c>.</summary>
        public string Path { get; private set; }
        public string Message { get; private set; }
        public override string ToString() { return Path + ": " + Message; }
    }

    /// <summary>Base of every StackBill error; <see cref="Kind"/> names the error kind.</summary>
    public class StackBillException : Exception
    {
        public StackBillException(string kind, string message) : base(message) { Kind = kind; }
        public string Kind { get; private set; }

        /// <summary>Every kind this assembly maps, in the order the native library lists them.</summary>
        public static readonly ReadOnlyCollection<string> Kinds = new ReadOnlyCollection<string>(new[]
        {
            "InvalidScenario", "MalformedInput", "UnreadableInput", "UsageFileError",
            "AmountOverflow", "ScopeError", "StackBillError",
        });

        /// <summary>The exception for an error document <c>{"kind", "message", …}</c>.</summary>
        internal static StackBillException FromDocument(string document)
        {
            var doc = Json.Parse(document) as Dictionary<string, object>;
            if (doc == null) return new StackBillException("StackBillError", document);
            string kind = doc.ContainsKey("kind") ? doc["kind"] as string : null;
            string message = doc.ContainsKey("message") ? doc["message"] as string : document;
            switch (kind)
            {
                case "InvalidScenario":
                    var problems = new List<Problem>();
                    var list = doc.ContainsKey("problems") ? doc["problems"] as List<object> : null;
                    foreach (var item in list ?? new List<object>())
                    {
                        var p = (Dictionary<string, object>)item;
                        problems.Add(new Problem((string)p["path"], (string)p["message"]));
                    }
                    return new InvalidScenarioException(message, problems);
                case "MalformedInput":
                    return new MalformedInputException(message, Int(doc, "line"), Int(doc, "column"));
                case "UnreadableInput": return new UnreadableInputException(message);
                case "UsageFileError": return new UsageFileException(message);
                case "AmountOverflow": return new AmountOverflowException(message);
                case "ScopeError": return new ScopeException(message);
                default: return new StackBillException("StackBillError", message);
            }
        }

        private static int Int(Dictionary<string, object> doc, string key)
        {
            object v;
            return doc.TryGetValue(key, out v) && v is JsonNumber
                ? int.Parse(((JsonNumber)v).Text, CultureInfo.InvariantCulture)
                : 0;
        }
    }

    /// <summary>The scenario breaks the contract; <see cref="Problems"/> lists every problem.</summary>
    public sealed class InvalidScenarioException : StackBillException
    {
        public InvalidScenarioException(string message, IList<Problem> problems)
            : base("InvalidScenario", message)
        {
            Problems = new ReadOnlyCollection<Problem>(problems);
        }
        public ReadOnlyCollection<Problem> Problems { get; private set; }
    }

    /// <summary>The input is not JSON; <see cref="Line"/> and <see cref="Column"/> locate the first error.</summary>
    public sealed class MalformedInputException : StackBillException
    {
        public MalformedInputException(string message, int line, int column)
            : base("MalformedInput", message)
        {
            Line = line;
            Column = column;
        }
        public int Line { get; private set; }
        public int Column { get; private set; }
    }

    /// <summary>A scenario or usage file could not be read.</summary>
    public sealed class UnreadableInputException : StackBillException
    {
        public UnreadableInputException(string message) : base("UnreadableInput", message) { }
    }

    /// <summary>A usage file has an unknown format or a bad CSV header.</summary>
    public sealed class UsageFileException : StackBillException
    {
        public UsageFileException(string message) : base("UsageFileError", message) { }
    }

    /// <summary>Amounts grew beyond what exact decimals can hold.</summary>
    public sealed class AmountOverflowException : StackBillException
    {
        public AmountOverflowException(string message) : base("AmountOverflow", message) { }
    }

    /// <summary>A role, node, action or governance switch is not valid.</summary>
    public sealed class ScopeException : StackBillException
    {
        public ScopeException(string message) : base("ScopeError", message) { }
    }
}
