@needs-operator @needs-provider-stubs @needs-faults
Feature: Payments fail fast while the bank provider is down
  When the bank provider keeps failing, payments stops calling it (the circuit opens): new
  payments fail at once with the money released, instead of each waiting on a provider that
  is down. After a pause one call probes the provider; when it answers, the circuit closes
  and payments succeed again. The circuit is shared by every payment, so this runs alone.

  @serial @mesh-circuit-breaking
  Scenario: The provider is down, payments fail fast, and succeed again once it recovers
    Given Alice is a customer with 80.00 GBP
    And Bob is a customer with 50.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And the bank provider is down
    When Alice pays "Acme Coffee" 10.00 GBP
    Then payments stop calling the bank provider
    When Bob pays "Acme Coffee" 5.00 GBP
    Then the payment fails because "provider_unavailable"
    And the bank provider was asked for 0 transfers from Bob
    And Bob's balance is 50.00 GBP
    When the bank provider recovers
    Then payments call the bank provider again
    When Bob pays "Acme Coffee" 5.00 GBP
    Then the payment ends up settled
    And Bob's balance is 45.00 GBP
    And the money in the ledger is conserved
