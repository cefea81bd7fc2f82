// The StackBill .NET tests: a small runner (no NuGet test framework is reachable here) that
// runs every test, prints one line per test and ends with exactly "N passed, M failed";
// the exit code is the number of failures. Runs under mono and, unchanged, under CoreCLR.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using StackBill;

namespace StackBill.Tests
{
    internal sealed class AssertionFailed : Exception
    {
        public AssertionFailed(string message) : base(message) { }
    }

    internal static class Check
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new AssertionFailed(what);
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionFailed(what + ": expected <" + expected + ">, got <" + actual + ">");
            }
        }

        public static TException Throws<TException>(Action action, string what) where TException : Exception
        {
            try
            {
                action();
            }
            catch (TException e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionFailed(what + ": expected " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionFailed(what + ": expected " + typeof(TException).Name + ", nothing was thrown");
        }
    }

    internal static class Program
    {
        private static readonly List<KeyValuePair<string, Action>> Tests = new List<KeyValuePair<string, Action>>();

        private static void Add(string name, Action test)
        {
            Tests.Add(new KeyValuePair<string, Action>(name, test));
        }

        /// <summary>The repository root: the first ancestor of the runner holding core/tests/vectors.</summary>
        internal static readonly string Root = FindRoot();

        private static string FindRoot()
        {
            string env = Environment.GetEnvironmentVariable("STACKBILL_ROOT");
            if (!string.IsNullOrEmpty(env)) return env;
            var dir = new DirectoryInfo(AppDomain.CurrentDomain.BaseDirectory);
            while (dir != null && !Directory.Exists(Path.Combine(dir.FullName, "core", "tests", "vectors"))) dir = dir.Parent;
            if (dir == null) throw new InvalidOperationException("cannot find the repository root; set STACKBILL_ROOT");
            return dir.FullName;
        }

        private static int Main(string[] args)
        {
            CaseTests.Register(Add);
            TypeTests.Register(Add);
            ErrorTests.Register(Add);
            PolicyTests.Register(Add);
            int passed = 0, failed = 0;
            foreach (var test in Tests)
            {
                if (args.Length > 0 && !args.Any(a => test.Key.Contains(a))) continue;
                try
                {
                    test.Value();
                    passed++;
                    Console.WriteLine("ok - " + test.Key);
                }
                catch (Exception e)
                {
                    failed++;
                    Console.WriteLine("FAIL - " + test.Key + ": " + (e is AssertionFailed ? e.Message : e.ToString()));
                }
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed;
        }
    }

    /// <summary>Every case of core/tests/vectors and core/tests/scenarios gives exactly its expected document.</summary>
    internal static class CaseTests
    {
        private static readonly string[] Dirs = { "vectors", "scenarios" };

        public static void Register(Action<string, Action> add)
        {
            add("all nine shared vectors are present", () =>
                Check.Equal(9, Directory.GetFiles(Path.Combine(Program.Root, "core", "tests", "vectors"), "*.scenario.json").Length, "vectors"));
            foreach (string dir in Dirs)
            {
                string full = Path.Combine(Program.Root, "core", "tests", dir);
                foreach (string scenario in Directory.GetFiles(full, "*.scenario.json").OrderBy(f => f, StringComparer.Ordinal))
                {
                    string name = Path.GetFileName(scenario).Replace(".scenario.json", "");
                    string expected = Path.Combine(full, name + ".expected.json");
                    string path = scenario;
                    add("case " + dir + "/" + name, () => Case(path, expected));
                }
            }
        }

        private static void Case(string scenarioPath, string expectedPath)
        {
            string text = File.ReadAllText(scenarioPath, Encoding.UTF8);
            var want = (Dictionary<string, object>)Json.Parse(File.ReadAllText(expectedPath, Encoding.UTF8));
            if (want.ContainsKey("error"))
            {
                var paths = (List<object>)((Dictionary<string, object>)want["error"])["paths"];
                foreach (Action rate in new Action[] { () => Engine.Rate(text), () => Engine.RateFile(scenarioPath) })
                {
                    var e = Check.Throws<InvalidScenarioException>(rate, "invalid scenario");
                    Check.Equal("InvalidScenario", e.Kind, "kind");
                    Check.True(e is StackBillException, "is a StackBillException");
                    var got = new HashSet<string>(e.Problems.Select(p => p.Path));
                    foreach (string p in paths) Check.True(got.Contains(p), "problem at " + p + " among " + string.Join(", ", got));
                    Check.True(e.Problems.All(p => p.Message.Length > 0), "every problem has a message");
                }
                return;
            }
            RatingResult result = Engine.Rate(text);
            Check.True(Json.DeepEquals(want, Json.Parse(result.ToJson())), "output equals " + Path.GetFileName(expectedPath) + ":\n" + result.ToJson());
            Check.Equal(result.ToJson(), Engine.RateFile(scenarioPath).ToJson(), "RateFile gives the same text");
            // The typed view agrees with the document, amount for amount.
            var invoices = (List<object>)want["invoices"];
            Check.Equal(invoices.Count, result.Invoices.Count, "invoice count");
            for (int i = 0; i < invoices.Count; i++)
            {
                var inv = (Dictionary<string, object>)invoices[i];
                Check.Equal((string)inv["total"], result.Invoices[i].Total.ToString(CultureInfo.InvariantCulture), "total of " + inv["tenant"]);
                Check.Equal((string)inv["period_start"], result.Invoices[i].PeriodStart.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture), "period_start");
            }
        }
    }
}
