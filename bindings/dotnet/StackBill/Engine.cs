// The StackBill engine in-process: thin calls into stackbill_ffi with the JSON contract
// in and typed results out. Role, action and switch names are the core's own (Roles,
// Actions, GovernanceSwitches come from the native library).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace StackBill
{
    /// <summary>A node of the hierarchy, named down to its level; all null is the platform.</summary>
    public sealed class NodeRef
    {
        public string Distributor { get; set; }
        public string Partner { get; set; }
        public string Tenant { get; set; }
        public string Subscription { get; set; }

        public static NodeRef Platform { get { return new NodeRef(); } }

        /// <summary>
        /// A node from a dictionary (a PowerShell hashtable) with the keys distributor,
        /// partner, tenant, subscription (any case); null gives the platform. Other keys are
        /// left for the engine to refuse.
        /// </summary>
        public static NodeRef FromDictionary(IDictionary node)
        {
            var n = new NodeRef();
            if (node == null) return n;
            var extra = new List<string>();
            foreach (DictionaryEntry e in node)
            {
                string key = Convert.ToString(e.Key, CultureInfo.InvariantCulture);
                string value = e.Value == null ? null : Convert.ToString(e.Value, CultureInfo.InvariantCulture);
                switch (key.ToLowerInvariant())
                {
                    case "distributor": n.Distributor = value; break;
                    case "partner": n.Partner = value; break;
                    case "tenant": n.Tenant = value; break;
                    case "subscription": n.Subscription = value; break;
                    default: extra.Add(key); break;
                }
            }
            n.unknown = extra;
            return n;
        }

        private List<string> unknown = new List<string>();

        internal string ToJson()
        {
            var parts = new List<string>();
            if (Distributor != null) parts.Add("\"distributor\":" + Json.Quote(Distributor));
            if (Partner != null) parts.Add("\"partner\":" + Json.Quote(Partner));
            if (Tenant != null) parts.Add("\"tenant\":" + Json.Quote(Tenant));
            if (Subscription != null) parts.Add("\"subscription\":" + Json.Quote(Subscription));
            foreach (string key in unknown) parts.Add(Json.Quote(key) + ":null");
            return "{" + string.Join(",", parts) + "}";
        }
    }

    /// <summary>One line of an estimate: usage a subscription would have over the whole period.</summary>
    public sealed class Quote
    {
        public Quote(string subscription, string meter, decimal quantity, string sku = null)
        {
            Subscription = subscription;
            Meter = meter;
            Quantity = quantity;
            Sku = sku;
        }
        public string Subscription { get; private set; }
        public string Meter { get; private set; }
        public string Sku { get; private set; }
        public decimal Quantity { get; private set; }
    }

    /// <summary>How rates rise in the price-increase model.</summary>
    public enum IncreaseKind
    {
        /// <summary>By a percentage of the current rate (above -100).</summary>
        Percentage,
        /// <summary>By an amount in the list's currency.</summary>
        Fixed,
    }

    /// <summary>The engine: rating, the estimator, the price-increase model and the RBAC policy.</summary>
    public static class Engine
    {
        private static readonly Lazy<Dictionary<string, object>> names =
            new Lazy<Dictionary<string, object>>(() => (Dictionary<string, object>)Json.Parse(Native.Names()));

        /// <summary>
        /// Rates a scenario document (JSON text of billing-semantics §10) with the usage of
        /// an optional CSV/NDJSON file (optionally gzipped), added after the scenario's own.
        /// </summary>
        public static RatingResult Rate(string scenarioJson, string usagePath = null)
        {
            if (scenarioJson == null) throw new ArgumentNullException("scenarioJson");
            return new RatingResult(Native.Rate(scenarioJson, usagePath));
        }

        /// <summary>Like <see cref="Rate"/>, reading the scenario from a file.</summary>
        public static RatingResult RateFile(string scenarioPath, string usagePath = null)
        {
            if (scenarioPath == null) throw new ArgumentNullException("scenarioPath");
            string text;
            try
            {
                text = File.ReadAllText(scenarioPath, Encoding.UTF8);
            }
            catch (Exception e)
            {
                if (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException)
                {
                    throw new UnreadableInputException("cannot read " + scenarioPath + ": " + e.Message);
                }
                throw;
            }
            return Rate(text, usagePath);
        }

        /// <summary>What the quotes would cost under the scenario's price lists, rated as billing would.</summary>
        public static RatingResult Estimate(string scenarioJson, IEnumerable<Quote> quotes)
        {
            if (scenarioJson == null) throw new ArgumentNullException("scenarioJson");
            if (quotes == null) throw new ArgumentNullException("quotes");
            var items = quotes.Select(q =>
                "{\"subscription\":" + Json.Quote(q.Subscription) +
                ",\"meter\":" + Json.Quote(q.Meter) +
                ",\"sku\":" + Json.Quote(q.Sku) +
                ",\"quantity\":" + Json.Quote(q.Quantity.ToString(CultureInfo.InvariantCulture)) + "}");
            return new RatingResult(Native.Estimate(scenarioJson, "[" + string.Join(",", items) + "]"));
        }

        /// <summary>The core's price-increase model: the new, unrounded rate.</summary>
        public static decimal IncreaseRate(decimal rate, IncreaseKind kind, decimal amount)
        {
            string result = Native.IncreaseRate(
                rate.ToString(CultureInfo.InvariantCulture),
                kind == IncreaseKind.Percentage ? "percentage" : "fixed",
                amount.ToString(CultureInfo.InvariantCulture));
            return RatingResult.Money(result);
        }

        /// <summary>
        /// Whether <paramref name="role"/> granted at <paramref name="at"/> may perform
        /// <paramref name="action"/> (one of <see cref="Actions"/>) on <paramref name="target"/>;
        /// <paramref name="governance"/> overrides System Settings switches (see <see cref="GovernanceSwitches"/>).
        /// </summary>
        public static bool Can(string role, NodeRef at, string action, NodeRef target, IDictionary governance = null)
        {
            return Policy(Native.Can, role, at, "action", action, target, governance);
        }

        /// <summary>Whether <paramref name="role"/> granted at <paramref name="at"/> may grant <paramref name="granted"/> at <paramref name="target"/>.</summary>
        public static bool CanGrant(string role, NodeRef at, string granted, NodeRef target, IDictionary governance = null)
        {
            return Policy(Native.CanGrant, role, at, "granted", granted, target, governance);
        }

        private static bool Policy(Func<string, string> call, string role, NodeRef at, string key, string value, NodeRef target, IDictionary governance)
        {
            var request = new StringBuilder();
            request.Append("{\"role\":").Append(Json.Quote(role))
                .Append(",\"at\":").Append((at ?? NodeRef.Platform).ToJson())
                .Append(",\"").Append(key).Append("\":").Append(Json.Quote(value))
                .Append(",\"target\":").Append((target ?? NodeRef.Platform).ToJson());
            if (governance != null)
            {
                var switches = new List<string>();
                foreach (DictionaryEntry e in governance)
                {
                    bool on = Convert.ToBoolean(e.Value, CultureInfo.InvariantCulture);
                    switches.Add(Json.Quote(Convert.ToString(e.Key, CultureInfo.InvariantCulture)) + ":" + (on ? "true" : "false"));
                }
                request.Append(",\"governance\":{").Append(string.Join(",", switches)).Append('}');
            }
            request.Append('}');
            return call(request.ToString()) == "true";
        }

        /// <summary>Every role name the core knows (<c>PartnerAdministrator</c>, …).</summary>
        public static ReadOnlyCollection<string> Roles { get { return Names("roles"); } }
        /// <summary>Every action name the core knows (<c>manage_billing</c>, …).</summary>
        public static ReadOnlyCollection<string> Actions { get { return Names("actions"); } }
        /// <summary>Every System Settings switch <see cref="Can"/> takes.</summary>
        public static ReadOnlyCollection<string> GovernanceSwitches { get { return Names("governance_switches"); } }
        /// <summary>Every error kind the native library reports.</summary>
        public static ReadOnlyCollection<string> ErrorKinds { get { return Names("error_kinds"); } }
        /// <summary>The engine version.</summary>
        public static string Version { get { return (string)names.Value["version"]; } }

        private static ReadOnlyCollection<string> Names(string key)
        {
            return ((List<object>)names.Value[key]).Cast<string>().ToList().AsReadOnly();
        }
    }
}
