// Typed results, errors and the policy through the C# API.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using StackBill;

namespace StackBill.Tests
{
    internal static class Scenarios
    {
        /// <summary>A one-tenant scenario in Melbourne time with 10 % tax and one flat price, plus usage.</summary>
        public static string Simple(string rate = "0.125", string tax = "10", string usage = "", string tenant = "t")
        {
            return "{\"period\": \"2026-10\", \"platform\": {\"currency\": \"AUD\", \"time_zone\": \"Australia/Melbourne\"}," +
                "\"distributors\": [{\"id\": \"d\"}], \"partners\": [{\"id\": \"p\", \"distributor\": \"d\"}]," +
                "\"tenants\": [{\"id\": " + Json.Quote(tenant) + ", \"partner\": \"p\", \"tax_percent\": \"" + tax + "\"}]," +
                "\"subscriptions\": [{\"id\": \"s\", \"tenant\": " + Json.Quote(tenant) + ", \"region\": \"r\"}]," +
                "\"price_lists\": [{\"id\": \"l\", \"scope\": {\"region\": \"r\"}, \"currency\": \"AUD\", \"effective_from\": \"2026-01-01\"," +
                "\"items\": [{\"meter\": \"m\", \"rate\": \"" + rate + "\"}]}], \"usage\": [" + usage + "]}";
        }

        public static string Usage(string start, string end, string quantity, string meter = "m")
        {
            return "{\"subscription\": \"s\", \"meter\": \"" + meter + "\", \"start\": \"" + start + "\", \"end\": \"" + end + "\", \"quantity\": " + quantity + "}";
        }

        public static string TempDir()
        {
            string dir = Path.Combine(Path.GetTempPath(), "stackbill-dotnet-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    internal static class TypeTests
    {
        public static void Register(Action<string, Action> add)
        {
            add("money is System.Decimal and times keep their offsets", () =>
            {
                string usage = string.Join(",",
                    Scenarios.Usage("2026-10-05T00:00:00Z", "2026-10-05T01:00:00Z", "\"3\"", "M"),
                    Scenarios.Usage("2026-10-05T02:00:00Z", "2026-10-05T03:00:00Z", "8.381903171539307e-08"),
                    Scenarios.Usage("2026-10-05T03:00:00Z", "2026-10-05T04:00:00Z", "2"));
                var result = Engine.Rate(Scenarios.Simple(usage: usage));
                var inv = result.Invoices[0];
                Check.Equal(decimal.Parse("5.00000008381903171539307", CultureInfo.InvariantCulture), inv.Lines[0].Quantity.Value, "quantity");
                Check.Equal("5.00000008381903171539307", inv.Lines[0].Quantity.Value.ToString(CultureInfo.InvariantCulture), "quantity text");
                Check.Equal(0.63m, inv.Subtotal, "subtotal");
                Check.Equal(0.06m, inv.Tax, "tax");
                Check.Equal("0.69", inv.Total.ToString(CultureInfo.InvariantCulture), "total keeps its scale");
                Check.Equal(0.125m, inv.Lines[0].UnitRate.Value, "unit rate");
                Check.Equal(null, inv.Lines[0].FxRate, "no fx");
                Check.Equal(TimeSpan.FromHours(10), inv.PeriodStart.Offset, "start offset");
                Check.Equal(TimeSpan.FromHours(11), inv.PeriodEnd.Offset, "end offset");
                Check.Equal(new DateTimeOffset(2026, 9, 30, 14, 0, 0, TimeSpan.Zero), inv.PeriodStart.ToUniversalTime(), "start instant");
                Check.Equal("distributor", result.Commissions[0].PartyKind, "commission kind");
                Check.Equal("2026-10", result.Period, "period");
            });
            add("a 28-digit amount stays exact", () =>
            {
                string usage = Scenarios.Usage("2026-10-05T00:00:00Z", "2026-10-05T01:00:00Z", "\"1234567890123456789012345.67\"");
                var inv = Engine.Rate(Scenarios.Simple(rate: "1", tax: "0", usage: usage)).Invoices[0];
                decimal want = decimal.Parse("1234567890123456789012345.67", CultureInfo.InvariantCulture);
                Check.Equal(want, inv.Lines[0].Amount, "amount");
                Check.Equal(want, inv.Total, "total");
                Check.Equal("1234567890123456789012345.67", inv.Total.ToString(CultureInfo.InvariantCulture), "total text");
                string ten = Scenarios.Usage("2026-10-05T00:00:00Z", "2026-10-05T01:00:00Z", "\"10\"");
                var line = Engine.Rate(Scenarios.Simple(rate: "0.1234567890123456789012345678", usage: ten)).Invoices[0].Lines[0];
                Check.Equal("0.1234567890123456789012345678", line.UnitRate.Value.ToString(CultureInfo.InvariantCulture), "28-digit rate");
                Check.Equal(1.23m, line.Amount, "amount");
                Check.Equal("1.1234567890123456789012345678",
                    Engine.IncreaseRate(line.UnitRate.Value, IncreaseKind.Fixed, 1m).ToString(CultureInfo.InvariantCulture), "increase");
            });
            add("usage files are read, duplicates resolved", () =>
            {
                string dir = Scenarios.TempDir();
                string csv = Path.Combine(dir, "u.csv");
                File.WriteAllText(csv, "id,subscription,meter,sku,resource,start,end,quantity\n" +
                    "a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,4\n" +
                    "a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,8\n");
                var result = Engine.Rate(Scenarios.Simple(), csv);
                Directory.Delete(dir, true);
                Check.Equal(8m, result.Invoices[0].Lines[0].Quantity.Value, "last record wins");
            });
            add("UTF-8 crosses the boundary both ways", () =>
            {
                string usage = Scenarios.Usage("2026-10-05T00:00:00Z", "2026-10-05T01:00:00Z", "\"1\"");
                var result = Engine.Rate(Scenarios.Simple(usage: usage, tenant: "Zürich € 東京"));
                Check.Equal("Zürich € 東京", result.Invoices[0].Tenant, "tenant id");
                Check.True(result.ToJson().Contains("Zürich € 東京"), "in the document");
            });
            add("unbilled usage is typed", () =>
            {
                string usage = Scenarios.Usage("2026-10-05T00:00:00", "2026-10-05T01:00:00", "1");
                var unbilled = Engine.Rate(Scenarios.Simple(usage: usage)).Unbilled;
                Check.Equal(1, unbilled.Count, "one entry");
                Check.Equal("invalid_usage", unbilled[0].Reason, "reason");
                Check.Equal(1L, unbilled[0].Records, "records");
            });
            add("the estimator rates quotes as billing would", () =>
            {
                var result = Engine.Estimate(Scenarios.Simple(), new[] { new Quote("s", "m", 100m), new Quote("s", "unpriced", 1m) });
                Check.Equal(12.50m, result.Invoices[0].Subtotal, "subtotal");
                Check.Equal("13.75", result.Invoices[0].Total.ToString(CultureInfo.InvariantCulture), "total");
                Check.Equal("unpriced", result.Unbilled[0].Meter, "unpriced meter");
            });
            add("the price-increase model is exact", () =>
            {
                Check.Equal(0.055m, Engine.IncreaseRate(0.05m, IncreaseKind.Percentage, 10m), "10 %");
                Check.Equal(0.0828m, Engine.IncreaseRate(0.08m, IncreaseKind.Percentage, 3.5m), "3.5 %");
                Check.Equal(0.06m, Engine.IncreaseRate(0.05m, IncreaseKind.Fixed, 0.01m), "fixed");
                var e = Check.Throws<InvalidScenarioException>(() => Engine.IncreaseRate(0.5m, IncreaseKind.Fixed, -1m), "negative");
                Check.True(e.Message.Contains("negative"), e.Message);
            });
            add("parallel ratings on many threads agree", () =>
            {
                string text = File.ReadAllText(Path.Combine(Program.Root, "core", "tests", "vectors", "commissions.scenario.json"));
                string first = Engine.Rate(text).ToJson();
                var results = new string[16];
                Parallel.For(0, results.Length, i => { results[i] = Engine.Rate(text).ToJson(); });
                Check.True(results.All(r => r == first), "every thread got the same document");
            });
        }
    }

    internal static class ErrorTests
    {
        public static void Register(Action<string, Action> add)
        {
            add("every kind the library reports has an exception class", () =>
            {
                Check.Equal(string.Join(",", StackBillException.Kinds), string.Join(",", Engine.ErrorKinds), "kinds");
            });
            add("every problem is reported, in document order", () =>
            {
                var e = Check.Throws<InvalidScenarioException>(
                    () => Engine.Rate("{\"period\": \"2026-13\", \"platform\": {\"currency\": \"aud\", \"time_zone\": \"Nowhere/Land\"}}"), "invalid");
                Check.Equal("period,platform.currency,platform.time_zone", string.Join(",", e.Problems.Select(p => p.Path)), "paths");
                Check.True(e.Problems[0].Message.Contains("YYYY-MM"), e.Problems[0].Message);
                Check.True(e.Message.Contains("3 problems"), e.Message);
            });
            add("malformed JSON has its position", () =>
            {
                var e = Check.Throws<MalformedInputException>(() => Engine.Rate("{\n  \"period\": \"2026-10\",\n  oops\n}"), "malformed");
                Check.Equal(3, e.Line, "line");
                Check.Equal(3, e.Column, "column");
            });
            add("missing files name the file", () =>
            {
                var e = Check.Throws<UnreadableInputException>(() => Engine.RateFile("/nonexistent/nope.json"), "scenario file");
                Check.True(e.Message.Contains("nope.json"), e.Message);
                e = Check.Throws<UnreadableInputException>(() => Engine.Rate(Scenarios.Simple(), "/nonexistent/u.csv"), "usage file");
                Check.True(e.Message.Contains("u.csv"), e.Message);
            });
            add("bad usage files are UsageFileExceptions", () =>
            {
                string dir = Scenarios.TempDir();
                File.WriteAllText(Path.Combine(dir, "u.txt"), "");
                File.WriteAllText(Path.Combine(dir, "h.csv"), "id,meter\n");
                Check.Throws<UsageFileException>(() => Engine.Rate(Scenarios.Simple(), Path.Combine(dir, "u.txt")), "unknown format");
                var e = Check.Throws<UsageFileException>(() => Engine.Rate(Scenarios.Simple(), Path.Combine(dir, "h.csv")), "bad header");
                Directory.Delete(dir, true);
                Check.True(e.Message.Contains("subscription"), e.Message);
            });
            add("estimate problems carry paths", () =>
            {
                var e = Check.Throws<InvalidScenarioException>(
                    () => Engine.Estimate(Scenarios.Simple(), new[] { new Quote("s", "m", -1m) }), "negative quantity");
                Check.Equal("quotes[0].quantity", e.Problems[0].Path, "path");
            });
            add("null arguments are ArgumentNullExceptions", () =>
            {
                Check.Throws<ArgumentNullException>(() => Engine.Rate(null), "null scenario");
            });
        }
    }

    internal static class PolicyTests
    {
        private static readonly NodeRef D1 = new NodeRef { Distributor = "d1" };
        private static readonly NodeRef P1 = new NodeRef { Distributor = "d1", Partner = "p1" };
        private static readonly NodeRef T1 = new NodeRef { Distributor = "d1", Partner = "p1", Tenant = "t1" };
        private static readonly NodeRef T9 = new NodeRef { Distributor = "d2", Partner = "p9", Tenant = "t9" };

        public static void Register(Action<string, Action> add)
        {
            add("branches and levels", () =>
            {
                Check.True(Engine.Can("PartnerAdministrator", P1, "update", T1), "partner updates its tenant");
                Check.True(!Engine.Can("PartnerAdministrator", P1, "update", P1), "but not itself");
                Check.True(!Engine.Can("PartnerAdministrator", P1, "read", T9), "nor another branch");
                Check.True(Engine.Can("PlatformReader", NodeRef.Platform, "read_audit", NodeRef.Platform), "reader reads audit");
                Check.True(!Engine.Can("PlatformReader", null, "manage_settings", null), "but changes nothing");
            });
            add("names come from the core", () =>
            {
                Check.Equal(9, Engine.Roles.Count, "roles");
                Check.Equal(27, Engine.Actions.Count, "actions");
                Check.Equal(11, Engine.GovernanceSwitches.Count, "switches");
                Check.True(Engine.Actions.Contains("manage_billing"), "manage_billing");
                foreach (string s in Engine.GovernanceSwitches)
                {
                    Engine.Can("TenantUser", T1, "read", T1, new Hashtable { { s, false } });
                }
                Check.True(Engine.Version.Length > 0, "version");
            });
            add("governance switches and hashtables", () =>
            {
                Check.True(Engine.Can("PartnerAdministrator", P1, "create", P1), "self-provisioning on by default");
                Check.True(!Engine.Can("PartnerAdministrator", P1, "create", P1, new Hashtable { { "partner_tenant_self_provisioning", false } }), "off");
                var at = NodeRef.FromDictionary(new Hashtable { { "Distributor", "d1" }, { "partner", "p1" }, { "tenant", "t1" } });
                Check.True(Engine.Can("TenantUser", at, "use_estimator", at, new Dictionary<string, bool> { { "calculator_tenants", true } }), "calculator on");
                Check.True(!Engine.Can("TenantUser", at, "use_estimator", at), "calculator off by default");
            });
            add("grants", () =>
            {
                Check.True(Engine.CanGrant("PartnerAdministrator", P1, "TenantAdministrator", T1), "tenant admin below");
                Check.True(!Engine.CanGrant("PartnerAdministrator", P1, "DistributorAdministrator", D1), "never above");
            });
            add("scope errors", () =>
            {
                var e = Check.Throws<ScopeException>(() => Engine.Can("Emperor", null, "read", null), "unknown role");
                Check.True(e.Message.Contains("unknown role"), e.Message);
                // Text outside ASCII crosses the boundary intact (UTF-8 in, UTF-16 back).
                var wide = Check.Throws<ScopeException>(() => Engine.Can("Kaiserin-\u00fc\u2014\U0001F600", null, "read", null), "non-ASCII role");
                Check.True(wide.Message.Contains("Kaiserin-\u00fc\u2014\U0001F600"), wide.Message);
                Check.Throws<ScopeException>(() => Engine.Can("PartnerAdministrator", D1, "read", null), "role at the wrong level");
                Check.Throws<ScopeException>(() => Engine.Can("PlatformAdministrator", null, "fly", null), "unknown action");
                Check.Throws<ScopeException>(() => Engine.Can("PlatformAdministrator", null, "read", new NodeRef { Tenant = "t" }), "ancestors missing");
                Check.Throws<ScopeException>(() => Engine.Can("PlatformAdministrator", null, "read", NodeRef.FromDictionary(new Hashtable { { "tenat", "t" } })), "typo in a key");
                Check.Throws<ScopeException>(() => Engine.Can("PlatformAdministrator", null, "read", null, new Hashtable { { "nope", true } }), "unknown switch");
            });
        }
    }
}
