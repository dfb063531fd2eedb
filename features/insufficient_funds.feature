@needs-operator
Feature: Insufficient funds
  A customer cannot pay more than they have available. The refused payment is recorded as
  failed, nothing is held and no money moves.

  Background:
    Given Alice is a customer with 20.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario: Paying more than the balance is refused and nothing moves
    When Alice pays "Acme Coffee" 20.01 GBP
    Then the response is 422 with error code "insufficient_funds"
    And the provider is called at most 0 times in the trace
    And Alice's balance is 20.00 GBP
    And Alice has 0.00 GBP held
    And "Acme Coffee"'s balance is 0.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A customer with an empty account cannot pay
    Given Bob is a customer with 0.00 GBP
    When Bob pays "Acme Coffee" 0.01 GBP
    Then the response is 422 with error code "insufficient_funds"
    And spans matching 'span[service="ledger" name="POST /holds"]' count = 1
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Money spent earlier is no longer available
    When Alice pays "Acme Coffee" 15.00 GBP
    And Alice pays "Acme Coffee" 10.00 GBP
    Then the response is 422 with error code "insufficient_funds"
    And Alice's balance is 5.00 GBP
    And "Acme Coffee"'s balance is 15.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A top-up makes the payment possible
    When Alice pays "Acme Coffee" 50.00 GBP
    Then the response is 422 with error code "insufficient_funds"
    When the operator tops up Alice's account with 30.00 GBP
    And Alice pays "Acme Coffee" 50.00 GBP
    Then the payment ends up settled
    And Alice's balance is 0.00 GBP
    And the money in the ledger is conserved
