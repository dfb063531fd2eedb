@needs-operator @needs-provider-stubs @needs-merchant-endpoints
Feature: The caller's context travels with a payment through every service
  A payment crosses edge, payments, the ledger and, later, webhooks. Each hop receives the
  trace it belongs to, the caller's baggage, and a deadline no later than its caller's, so
  a service never works on a request its caller has stopped waiting for.

  @mesh-context-propagation
  Scenario: Trace context, baggage and the deadline reach every hop of a payment
    Given Alice is a customer with 80.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And "Acme Coffee" listens for payment webhooks
    When Alice pays "Acme Coffee" 30.00 GBP carrying the baggage "minibank.channel=mobile"
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And the webhook carries the payment's trace id
    And every hop of the payment through payments, ledger and webhooks received the baggage "minibank.channel" and a deadline within its caller's
    And the money in the ledger is conserved
