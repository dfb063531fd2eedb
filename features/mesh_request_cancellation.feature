@needs-operator @needs-provider-stubs @needs-faults
Feature: When a customer gives up, the bank stops working on the request and stays consistent
  A customer whose app gives up closes the connection. edge and payments stop the work they
  were doing for that request (and every call it was making), instead of finishing it for
  nobody. The payment saga is persisted step by step, so the payment is still brought to an
  end: the transfer never reached the provider, the saga asks the provider, learns that, and
  releases the money. Sending the payment again with the same idempotency key shows how it
  ended. The provider is slow only for this scenario's transfer, so other scenarios run beside
  it untouched.

  @mesh-request-cancellation
  Scenario: A customer gives up on a slow payment; the work stops and the money is released
    Given Alice is a customer with 80.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And the bank provider takes 2 seconds to answer the next transfer
    When Alice pays "Acme Coffee" 30.00 GBP but gives up after 300 milliseconds
    Then edge stopped working on the abandoned payment
    And payments stopped working on the abandoned payment
    When Alice sends the abandoned payment again
    Then the payment fails because "provider_failed"
    And Alice's balance is 80.00 GBP
    And Alice has 0.00 GBP held
    And the bank provider was asked for 0 transfers from Alice
    And the money in the ledger is conserved
