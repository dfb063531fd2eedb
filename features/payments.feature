@needs-operator
Feature: Paying a merchant
  A customer pays a merchant from their account. The payment holds the money, sends the
  transfer to the bank provider, and once the provider accepts it moves the money to the
  merchant's settlement account. Money is never created or lost.

  Background:
    Given Alice is a customer with 100.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario: A payment settles and the money moves to the merchant
    When Alice pays "Acme Coffee" 12.50 GBP
    Then no span in the trace has an error
    And the payment is settled
    And the payment moved 12.50 GBP from Alice to "Acme Coffee"
    And Alice's balance is 87.50 GBP
    And Alice has 0.00 GBP held
    And "Acme Coffee"'s balance is 12.50 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A customer can spend their whole balance
    When Alice pays "Acme Coffee" 100.00 GBP
    Then the provider is called exactly once in the trace
    And the payment ends up settled
    And Alice's balance is 0.00 GBP
    And "Acme Coffee"'s balance is 100.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Several payments add up
    When Alice pays "Acme Coffee" 10.00 GBP
    And Alice pays "Acme Coffee" 20.00 GBP
    And Alice pays "Acme Coffee" 30.00 GBP
    Then Alice's balance is 40.00 GBP
    And "Acme Coffee"'s balance is 60.00 GBP
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Both the customer and the merchant can look the payment up
    When Alice pays "Acme Coffee" 5.00 GBP
    And Alice looks up the payment
    Then the response status is 200
    And the response field "status" is "settled"
    And the response field "amount" is "500"
    When "Acme Coffee" looks up the payment
    Then the response status is 200
    And the response field "merchant_id" is "{Acme Coffee.merchant_id}"
    And the money in the ledger is conserved

  @staging-safe
  Scenario Outline: Paying <amount> leaves <left>
    When Alice pays "Acme Coffee" <amount>
    Then spans matching 'span[service="payments" name="POST /v1/payments"] span[service="payments" kind=client name="POST /transfers"]' count = 1 and status != error
    And the payment ends up settled
    And Alice's balance is <left>
    And "Acme Coffee"'s balance is <amount>
    And the money in the ledger is conserved

    Examples:
      | amount    | left      |
      | 0.01 GBP  | 99.99 GBP |
      | 1.00 GBP  | 99.00 GBP |
      | 99.99 GBP | 0.01 GBP  |

  # Generous bounds: they hold on a loaded two-core machine and still catch a payment that
  # hangs on a slow call.
  @staging-safe
  Scenario: A payment meets its latency target
    When Alice pays "Acme Coffee" 12.50 GBP
    Then the payment's trace has these spans:
      | service  | span              | at most | status |
      | edge     | POST /v1/payments | 5 s     |        |
      | payments | POST /v1/payments | 5 s     |        |
      | ledger   | POST /holds       | 2 s     | unset  |
      | payments | POST /transfers   | 2 s     | unset  |
    And the ledger's "POST /holds" span takes less than 2000 ms
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Two customers pay the same merchant
    Given Bob is a customer with 30.00 GBP
    When Alice pays "Acme Coffee" 25.00 GBP
    And Bob pays "Acme Coffee" 30.00 GBP
    Then "Acme Coffee"'s balance is 55.00 GBP
    And Bob's balance is 0.00 GBP
    And the money in the ledger is conserved
