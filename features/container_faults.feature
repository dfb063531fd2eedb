@needs-operator @needs-provider-stubs
Feature: The platform rides out faults that only real containers can make
  Each service runs in its own container, so a service can be stopped and started, frozen,
  or cut off the network while the rest keeps running, and the collector that carries the
  spans to the tracing backend can go away. Money is never lost or paid twice, callers get a
  clean answer, and a missing piece of a trace is reported, not guessed.
  These faults touch every scenario running at the time, so they run alone (@serial).

  Background:
    Given Alice is a customer with 70.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @serial @needs-stop-service
  Scenario: A payment in flight when payments stops is finished after it starts again
    Given the bank provider is down
    When Alice pays "Acme Coffee" 20.00 GBP
    Then the payment is processing
    When the payments service stops
    And the bank provider recovers
    And the payments service starts again
    Then the payment fails because "provider_failed"
    And Alice's balance is 70.00 GBP
    And the money in the ledger is conserved

  # A 504 means the request was sent and not answered: payments may still act on it once it
  # wakes, so the customer resends with the same idempotency key, never a fresh one.
  @serial @needs-pause-service
  Scenario: While payments is frozen, callers time out cleanly and a resend charges once
    When the payments service is paused
    And Alice pays "Acme Coffee" 20.00 GBP, willing to wait 2 seconds
    Then the response is 504 with error code "upstream_timeout"
    When the payments service resumes
    And Alice sends the same payment again
    Then the payment ends up settled
    And Alice's balance is 50.00 GBP
    And the money in the ledger is conserved

  # Cut off, a request may never leave edge (503, never sent) or leave and go unanswered
  # (504, outcome unknown: TCP delivers it once the network is back). Either way the customer
  # resends with the same key, and is charged once.
  @serial @needs-disconnect-service
  Scenario: A service cut off from the network is reported unavailable, and a resend charges once
    When the payments service is cut off from the network
    And Alice pays "Acme Coffee" 20.00 GBP
    Then the caller is told payments is unavailable
    When the payments service is reconnected
    And Alice sends the same payment again
    Then the payment ends up settled
    And Alice's balance is 50.00 GBP
    And the money in the ledger is conserved

  @serial @needs-stop-collector
  Scenario: Without the collector payments keep succeeding, and the trace check says what is missing
    When the collector stops
    And Alice pays "Acme Coffee" 20.00 GBP
    Then the payment is settled
    And the trace check reports the spans of edge, auth, payments and ledger missing
    When the collector starts again
    And Alice pays "Acme Coffee" 10.00 GBP
    Then the payment is settled
    And the trace passes through edge, auth, payments and ledger
    And the money in the ledger is conserved
