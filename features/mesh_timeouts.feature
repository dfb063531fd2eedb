@needs-operator @needs-faults
Feature: A service that stops answering costs a caller its deadline, not forever
  Every call between services has a timeout within the deadline the caller propagated. A
  customer may say how long they are willing to wait (the standard `Prefer: wait=N`); when the
  ledger stops answering, edge gives up at that deadline and says so, instead of waiting out its
  own longer limit. Once the ledger answers again, so does the bank.

  @mesh-timeouts
  Scenario: The ledger hangs: the customer is told in time, and served again once it is back
    Given Alice is a customer with 80.00 GBP
    And the ledger stops answering reads of Alice's account
    When Alice checks her balance, willing to wait 2 seconds
    Then she is told the bank did not answer within 5 seconds
    When the ledger recovers
    Then Alice's balance is 80.00 GBP
    And the money in the ledger is conserved
