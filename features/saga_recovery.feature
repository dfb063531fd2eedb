@needs-operator @needs-provider-stubs @needs-restart
Feature: A payment survives a restart of the payments service
  The saga's state is stored, so a payment caught in the middle when the payments service
  restarts is finished afterwards, and money is neither lost nor paid twice.
  A restart affects every scenario running at the time, so these run alone (@serial).

  Background:
    Given Alice is a customer with 70.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @serial
  Scenario: A payment waiting on the provider finishes after the restart
    Given the bank provider is down
    When Alice pays "Acme Coffee" 20.00 GBP
    Then the payment is processing
    When the payments service restarts
    And the bank provider recovers
    Then the payment fails because "provider_failed"
    And Alice's balance is 70.00 GBP
    And the money in the ledger is conserved

  @serial
  Scenario: Payments work normally after a restart
    When the payments service restarts
    And Alice pays "Acme Coffee" 20.00 GBP
    Then the payment ends up settled
    And Alice's balance is 50.00 GBP
    And the money in the ledger is conserved

  @serial
  Scenario Outline: Money is safe across a restart of <service>
    When Alice pays "Acme Coffee" 10.00 GBP
    And the <service> service restarts
    And Alice pays "Acme Coffee" 10.00 GBP
    Then the payment ends up settled
    And Alice's balance is 50.00 GBP
    And "Acme Coffee"'s balance is 20.00 GBP
    And the money in the ledger is conserved

    Examples:
      | service  |
      | ledger   |
      | auth     |
      | webhooks |
