// The output of a rating: the §10 JSON document, and typed views of it with
// System.Decimal money and DateTimeOffset times (the engine's decimals have the same
// 96-bit range and 28-digit scale, so every amount converts exactly).
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;

namespace StackBill
{
    /// <summary>One invoice line: a charge (one aggregate) or a credit (negative).</summary>
    public sealed class Line
    {
        /// <summary><c>charge</c> or <c>credit</c>.</summary>
        public string Kind { get; internal set; }
        public string Subscription { get; internal set; }
        public string Meter { get; internal set; }
        public string Sku { get; internal set; }
        /// <summary>Null on credits.</summary>
        public decimal? Quantity { get; internal set; }
        public string PriceList { get; internal set; }
        /// <summary>Null on credits and tiered lines.</summary>
        public decimal? UnitRate { get; internal set; }
        /// <summary>Set when the list's currency differs from the invoice's.</summary>
        public decimal? FxRate { get; internal set; }
        public decimal Amount { get; internal set; }
    }

    /// <summary>A tenant's invoice for the period, in the tenant's currency.</summary>
    public sealed class Invoice
    {
        public string Tenant { get; internal set; }
        public string Currency { get; internal set; }
        /// <summary>The first instant of the period, with the tenant's offset.</summary>
        public DateTimeOffset PeriodStart { get; internal set; }
        public DateTimeOffset PeriodEnd { get; internal set; }
        public ReadOnlyCollection<Line> Lines { get; internal set; }
        public decimal Subtotal { get; internal set; }
        public decimal Tax { get; internal set; }
        public decimal Total { get; internal set; }
    }

    /// <summary>A partner's or distributor's commission; <see cref="PartyKind"/> says which.</summary>
    public sealed class Commission
    {
        /// <summary><c>distributor</c> or <c>partner</c>.</summary>
        public string PartyKind { get; internal set; }
        public string Party { get; internal set; }
        public string Currency { get; internal set; }
        public decimal Base { get; internal set; }
        public decimal Amount { get; internal set; }
        public string Plan { get; internal set; }
    }

    /// <summary>Usage not billed, summed per (reason, subscription, meter, sku).</summary>
    public sealed class UnbilledUsage
    {
        public string Reason { get; internal set; }
        public string Subscription { get; internal set; }
        public string Meter { get; internal set; }
        public string Sku { get; internal set; }
        public decimal Quantity { get; internal set; }
        public long Records { get; internal set; }
    }

    /// <summary>
    /// A rating's output. <see cref="ToJson"/> is byte for byte what <c>stackbill rate</c>
    /// prints; <see cref="Invoices"/>, <see cref="Commissions"/> and <see cref="Unbilled"/>
    /// are typed views of it.
    /// </summary>
    public sealed class RatingResult
    {
        private readonly string json;
        private readonly object parsing = new object();
        private bool parsed;
        private string period;
        private ReadOnlyCollection<Invoice> invoices;
        private ReadOnlyCollection<Commission> commissions;
        private ReadOnlyCollection<UnbilledUsage> unbilled;

        internal RatingResult(string json)
        {
            this.json = json;
        }

        /// <summary>Builds the typed views on first use: ToJson() alone never pays for them.</summary>
        private void Parse()
        {
            lock (parsing)
            {
                if (parsed) return;
                var doc = (Dictionary<string, object>)Json.Parse(json);
                period = (string)doc["period"];
                var invoiceList = new List<Invoice>();
                foreach (Dictionary<string, object> i in Items(doc, "invoices")) invoiceList.Add(ReadInvoice(i));
                invoices = invoiceList.AsReadOnly();
                var commissionList = new List<Commission>();
                foreach (Dictionary<string, object> c in Items(doc, "commissions"))
                {
                    string kind = c.ContainsKey("distributor") ? "distributor" : "partner";
                    commissionList.Add(new Commission
                    {
                        PartyKind = kind,
                        Party = (string)c[kind],
                        Currency = (string)c["currency"],
                        Base = Money(c["base"]),
                        Amount = Money(c["amount"]),
                        Plan = (string)c["plan"],
                    });
                }
                commissions = commissionList.AsReadOnly();
                var unbilledList = new List<UnbilledUsage>();
                foreach (Dictionary<string, object> u in Items(doc, "unbilled"))
                {
                    unbilledList.Add(new UnbilledUsage
                    {
                        Reason = (string)u["reason"],
                        Subscription = u["subscription"] as string,
                        Meter = u["meter"] as string,
                        Sku = u["sku"] as string,
                        Quantity = Money(u["quantity"]),
                        Records = long.Parse(((JsonNumber)u["records"]).Text, CultureInfo.InvariantCulture),
                    });
                }
                unbilled = unbilledList.AsReadOnly();
                parsed = true;
            }
        }

        /// <summary>The billed month, <c>YYYY-MM</c>.</summary>
        public string Period { get { Parse(); return period; } }
        /// <summary>One invoice per tenant, ordered by tenant id.</summary>
        public ReadOnlyCollection<Invoice> Invoices { get { Parse(); return invoices; } }
        /// <summary>Distributors then partners, each by id.</summary>
        public ReadOnlyCollection<Commission> Commissions { get { Parse(); return commissions; } }
        /// <summary>Everything not billed, with its reason.</summary>
        public ReadOnlyCollection<UnbilledUsage> Unbilled { get { Parse(); return unbilled; } }

        /// <summary>The output document of billing-semantics §10, exactly as the CLI prints it.</summary>
        public string ToJson() { return json; }

        public override string ToString()
        {
            return "RatingResult(period=" + Period + ", invoices=" + Invoices.Count + ", unbilled=" + Unbilled.Count + ")";
        }

        private static IEnumerable<object> Items(Dictionary<string, object> doc, string key)
        {
            object v;
            return doc.TryGetValue(key, out v) && v is List<object> ? (List<object>)v : new List<object>();
        }

        private static Invoice ReadInvoice(Dictionary<string, object> i)
        {
            var lines = new List<Line>();
            foreach (Dictionary<string, object> l in Items(i, "lines"))
            {
                lines.Add(new Line
                {
                    Kind = (string)l["kind"],
                    Subscription = l["subscription"] as string,
                    Meter = (string)l["meter"],
                    Sku = l["sku"] as string,
                    Quantity = OptionalMoney(l["quantity"]),
                    PriceList = (string)l["price_list"],
                    UnitRate = OptionalMoney(l["unit_rate"]),
                    FxRate = OptionalMoney(l["fx_rate"]),
                    Amount = Money(l["amount"]),
                });
            }
            return new Invoice
            {
                Tenant = (string)i["tenant"],
                Currency = (string)i["currency"],
                PeriodStart = Instant((string)i["period_start"]),
                PeriodEnd = Instant((string)i["period_end"]),
                Lines = lines.AsReadOnly(),
                Subtotal = Money(i["subtotal"]),
                Tax = Money(i["tax"]),
                Total = Money(i["total"]),
            };
        }

        /// <summary>An exact decimal string (the engine never writes exponents in its output).</summary>
        internal static decimal Money(object value)
        {
            return decimal.Parse((string)value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        }

        private static decimal? OptionalMoney(object value)
        {
            return value == null ? (decimal?)null : Money(value);
        }

        private static DateTimeOffset Instant(string text)
        {
            return DateTimeOffset.ParseExact(text, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        }
    }
}
