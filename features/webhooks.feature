@needs-operator @needs-merchant-endpoints
Feature: Telling the merchant about payments
  A merchant registers an endpoint and is told about every payment to them with a signed
  webhook. The signature lets the merchant check the message came from minibank. An
  endpoint that fails is retried with backoff; after the last try the delivery is put
  aside as a dead letter.

  Background:
    Given Alice is a customer with 100.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And "Acme Coffee" listens for payment webhooks

  Scenario: A settled payment is announced with a signed webhook
    When Alice pays "Acme Coffee" 12.50 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And the webhook is signed with "Acme Coffee"'s secret
    And "Acme Coffee" receives the webhook within 10000 ms of the payment request
    And "Acme Coffee"'s delivery for the payment is delivered after 1 attempt
    And the money in the ledger is conserved

  @needs-provider-stubs
  Scenario: A failed payment is announced too
    Given the bank provider rejects transfers
    When Alice pays "Acme Coffee" 12.50 GBP
    Then "Acme Coffee" receives a payment.failed webhook for the payment
    And the webhook is signed with "Acme Coffee"'s secret
    And the webhook delivery is a child of the payment's trace
    And the money in the ledger is conserved

  Scenario: An endpoint that fails twice then recovers gets the webhook on the third try
    Given "Acme Coffee"'s endpoint fails the next 2 deliveries
    When Alice pays "Acme Coffee" 7.00 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And spans matching 'span[service="webhooks" name="webhook delivery" event="delivery.retry"]' count = 2
    And "Acme Coffee"'s delivery for the payment is delivered after 3 attempts
    And "Acme Coffee"'s endpoint was called 3 times for the payment
    And the money in the ledger is conserved

  Scenario: An endpoint that never answers well ends in the dead letters
    Given "Acme Coffee"'s endpoint is down
    When Alice pays "Acme Coffee" 7.00 GBP
    Then "Acme Coffee"'s delivery for the payment is dead-lettered
    And every attempt reached "Acme Coffee"'s endpoint
    And the payment ends up settled
    And the money in the ledger is conserved

  Scenario: A merchant is told once about each payment
    When Alice pays "Acme Coffee" 3.00 GBP
    And Alice sends the same payment again
    Then both answers are the same payment
    And "Acme Coffee" receives a payment.settled webhook for the payment
    And "Acme Coffee"'s delivery for the payment is delivered after 1 attempt
    And "Acme Coffee"'s endpoint was called 1 time for the payment
    And the money in the ledger is conserved

  Scenario: Another merchant is not told about payments to Acme
    Given "Bean There" is a merchant settling in GBP
    And "Bean There" listens for payment webhooks
    When Alice pays "Acme Coffee" 4.00 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And "Bean There"'s endpoint was called 0 times for the payment
    And the webhook is not signed with "Bean There"'s secret
    And the money in the ledger is conserved
