@needs-operator
Feature: Retrying a payment safely
  A client that lost the answer to a payment request sends it again with the same
  Idempotency-Key. The same key with the same request is the same payment, charged once;
  the same key with a different request is refused.

  Background:
    Given Alice is a customer with 100.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario: The same request with the same key is one payment, charged once
    When Alice pays "Acme Coffee" 40.00 GBP with idempotency key "order-1"
    And Alice sends the same payment again
    Then spans matching 'span[service="ledger" name="POST /holds"]' count = 0
    And the provider is called at most 0 times in the trace
    And both answers are the same payment
    And Alice's balance is 60.00 GBP
    And "Acme Coffee"'s balance is 40.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A key cannot be reused for a different payment
    When Alice pays "Acme Coffee" 40.00 GBP with idempotency key "order-2"
    And Alice reuses that idempotency key to pay "Acme Coffee" 41.00 GBP
    Then the response is 422 with error code "idempotency_key_reused"
    And Alice's balance is 60.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A payment without a key is refused
    When Alice pays "Acme Coffee" 10.00 GBP without an idempotency key
    Then the response is 400 with error code "missing_idempotency_key"
    And spans matching 'span[service="ledger"]' count = 0
    And Alice's balance is 100.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A payment with an unusable key is refused
    When Alice pays "Acme Coffee" 10.00 GBP with idempotency key "order 1"
    Then the response is 400 with error code "invalid_idempotency_key"
    And Alice's balance is 100.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Two customers may use the same key for their own payments
    Given Bob is a customer with 100.00 GBP
    When Alice pays "Acme Coffee" 10.00 GBP with idempotency key "shared-key"
    And Bob pays "Acme Coffee" 20.00 GBP with idempotency key "shared-key"
    Then the payment ends up settled
    And Alice's balance is 90.00 GBP
    And Bob's balance is 80.00 GBP
    And "Acme Coffee"'s balance is 30.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A refused payment retried with the same key stays refused
    When Alice pays "Acme Coffee" 500.00 GBP with idempotency key "too-much"
    And Alice sends the same payment again
    Then the response is 422 with error code "insufficient_funds"
    And Alice's balance is 100.00 GBP
    And the money in the ledger is conserved
