@needs-operator @needs-provider-stubs
Feature: The bank provider refuses a transfer
  When the provider refuses the transfer, the payment fails and the saga compensates:
  the hold on the customer's money is released, and the merchant gets nothing.

  Background:
    Given Alice is a customer with 50.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And the bank provider rejects transfers

  Scenario: A rejected transfer fails the payment and releases the hold
    When Alice pays "Acme Coffee" 30.00 GBP
    Then spans matching 'span[service="payments" kind=client name="POST /transfers"]' status = error and attr http.response.status_code >= 400
    And the payment is failed
    And the payment fails because "provider_rejected"
    And Alice's balance is 50.00 GBP
    And Alice has 0.00 GBP held
    And "Acme Coffee"'s balance is 0.00 GBP
    And the money in the ledger is conserved

  Scenario: The customer can spend the released money once the provider accepts again
    When Alice pays "Acme Coffee" 50.00 GBP
    Then the payment fails because "provider_rejected"
    When the bank provider recovers
    And Alice pays "Acme Coffee" 50.00 GBP
    Then the payment ends up settled
    And Alice's balance is 0.00 GBP
    And "Acme Coffee"'s balance is 50.00 GBP
    And the money in the ledger is conserved

  Scenario: The provider is asked only once per payment
    When Alice pays "Acme Coffee" 10.00 GBP
    Then the provider is called exactly once in the trace
    And the payment fails because "provider_rejected"
    And the bank provider was asked for 1 transfer from Alice
    And the money in the ledger is conserved
