//! "Did you mean": the first suggestion for a typical typo is the sentence meant, filled in
//! with the writer's own values, ready to paste back.

use steps::suggest::suggest;

/// What an analyst typed, and the first suggestion they should get.
const TYPOS: &[(&str, &str)] = &[
    // A verb without its `s`.
    (
        r#"When Alice pay "Acme Coffee" 12.50 GBP"#,
        r#"When Alice pays "Acme Coffee" 12.50 GBP"#,
    ),
    // A misspelt word.
    (
        r#"Then "Acme Coffee" recieves a payment.settled webhook for the payment"#,
        r#"Then "Acme Coffee" receives a payment.settled webhook for the payment"#,
    ),
    // A word left out.
    (
        "Given Bob is customer with 20.00 EUR",
        "Given Bob is a customer with 20.00 EUR",
    ),
    // A word added.
    (
        "Then the payment finally ends up settled",
        "Then the payment ends up settled",
    ),
    // Another wording of a known sentence.
    (
        "Then Alice's balance should be 87.50 GBP",
        "Then Alice's balance is 87.50 GBP",
    ),
    // The wrong keyword: the sentence is a Then.
    (
        r#"When the response is 422 with error code "insufficient_funds""#,
        r#"Then the response is 422 with error code "insufficient_funds""#,
    ),
    // A plural where the sentence has a singular.
    (
        "Given the bank provider reject transfers",
        "Given the bank provider rejects transfers",
    ),
    // The operator as an actor.
    ("When the operator sign in", "When the operator signs in"),
    // Capitalised differently.
    (
        "Then The Money In The Ledger Is Conserved",
        "Then the money in the ledger is conserved",
    ),
    // An idempotency key in the wrong place.
    (
        r#"When Alice pays "Acme Coffee" 12.50 GBP with key "order-42""#,
        r#"When Alice pays "Acme Coffee" 12.50 GBP with idempotency key "order-42""#,
    ),
    // Sentences that once took any text as the actor now fill in the writer's own actor,
    // pronoun and numbers, not the catalogue's example.
    (
        "When Bob check his balance 3 times",
        "When Bob checks his balance 3 times",
    ),
    (
        r#"Then "Bean There"'s delivery for the paymnet is delivered after 2 attempts"#,
        r#"Then "Bean There"'s delivery for the payment is delivered after 2 attempts"#,
    ),
    (
        "Then the bank provider was asked for 2 transfer from Carol",
        "Then the bank provider was asked for 2 transfers from Carol",
    ),
];

#[test]
fn the_first_suggestion_for_each_typical_typo_is_the_sentence_meant_filled_in() {
    let mut wrong = Vec::new();
    for (typed, meant) in TYPOS {
        let got = suggest(typed, 3);
        let first = got.first().map(|s| s.filled.as_str()).unwrap_or_default();
        if first != *meant {
            wrong.push(format!(
                "`{typed}`\n    expected `{meant}`\n    got {:?}",
                got.iter().map(|s| &s.filled).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn three_suggestions_best_first() {
    let got = suggest("When Alice pays", 3);
    assert_eq!(got.len(), 3);
    assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(got[0].sentence.contains("pays"), "{got:?}");
}
