@needs-operator @needs-faults
Feature: Calls that fail for a moment are retried, but never twice when that could act twice
  Between services, a read that fails for a moment (the ledger answers 503, a connection
  drops) is tried again within a retry budget, so customers never see the blip. A call that
  moves money is not idempotent: if its connection drops, resending it could move the money
  twice, so it is never resent blindly.

  Background:
    Given Alice is a customer with 80.00 GBP

  @mesh-retries
  Scenario: A customer's balance read survives the ledger failing twice
    Given the ledger fails the next 2 reads of Alice's account
    When Alice checks her balance
    Then the response status is 200
    And the ledger is called at most 3 times in the trace
    And the ledger failed 2 times and each failure was retried
    And Alice's balance is 80.00 GBP
    And the money in the ledger is conserved

  @mesh-retries
  Scenario: A top-up whose connection drops is not sent again
    Given the connection to the ledger drops during every top-up of Alice's account
    When the operator tries to top up Alice's account with 10.00 GBP
    Then the response is 502 with error code "bad_gateway"
    And the top-up was attempted once and never resent
    When the ledger recovers
    Then Alice's balance is 80.00 GBP
    And the money in the ledger is conserved
