//! Commission bands and roll-ups on the shared commissions vector: the bands explain the
//! amount exactly, the stored document reads back to the same commission, and a roll-up
//! over months sums bases, amounts and matching bands.

use rust_decimal::Decimal;
use stackbill_core::commission::{CommissionParty, roll_up};
use stackbill_core::money::RoundingMode;
use stackbill_core::scenario::json;

fn vector() -> stackbill_core::Outcome {
    let text = include_str!("../vectors/commissions.scenario.json");
    json::rate_document(text).unwrap()
}

#[test]
fn bands_explain_each_amount() {
    let outcome = vector();
    let with_plan: Vec<_> = outcome
        .commissions
        .iter()
        .filter(|c| !c.bands.is_empty())
        .collect();
    assert!(
        with_plan.len() >= 2,
        "the vector has graduated and volume plans"
    );
    for c in &outcome.commissions {
        let unrounded: Decimal = c.bands.iter().map(|b| b.amount).sum();
        let base: Decimal = c.bands.iter().map(|b| b.base).sum();
        if !c.bands.is_empty() {
            assert_eq!(
                RoundingMode::HalfEven.round_money(unrounded, c.currency),
                c.amount,
                "{c:?}"
            );
            assert!(base == c.base || c.bands.len() == 1, "{c:?}");
        }
    }
}

#[test]
fn stored_documents_read_back_exactly() {
    for c in vector().commissions {
        let value = json::commission_to_value(&c);
        let back = json::read_commission(&value.to_string()).unwrap();
        assert_eq!(back, c);
    }
    let err =
        json::read_commission(r#"{"partner": "p", "currency": "XXX", "base": "x"}"#).unwrap_err();
    let paths: Vec<_> = err.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["currency", "base", "amount", "plan"]);
}

#[test]
fn a_year_rolls_up_the_months() {
    let months = vector().commissions;
    let twice = months.iter().cloned().chain(months.iter().cloned());
    let totals = roll_up(twice).unwrap();
    assert_eq!(totals.len(), months.len());
    for (total, month) in totals.iter().zip(&months) {
        assert_eq!(total.periods, 2);
        assert_eq!(total.commission.party, month.party);
        assert_eq!(total.commission.base, month.base * Decimal::TWO);
        assert_eq!(total.commission.amount, month.amount * Decimal::TWO);
        assert_eq!(total.commission.bands.len(), month.bands.len());
        for (t, m) in total.commission.bands.iter().zip(&month.bands) {
            assert_eq!(
                (t.base, t.amount),
                (m.base * Decimal::TWO, m.amount * Decimal::TWO)
            );
        }
    }
    // Distributors first, then partners, as the outcome lists them.
    let kinds: Vec<bool> = totals
        .iter()
        .map(|t| matches!(t.commission.party, CommissionParty::Partner(_)))
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(kinds, sorted);
}
