@needs-operator @needs-faults
Feature: A service that stops answering costs a caller its deadline, not forever
  Every call between services has a timeout within the deadline the caller propagated. When
  the ledger stops answering, edge gives up at the deadline and says so; once the ledger
  answers again, so does the bank.

  @mesh-timeouts
  Scenario: The ledger hangs: the customer is told in time, and served again once it is back
    Given Alice is a customer with 80.00 GBP
    And the ledger stops answering reads of Alice's account
    When Alice checks her balance
    Then she is told the bank did not answer within 15 seconds
    When the ledger recovers
    Then Alice's balance is 80.00 GBP
    And the money in the ledger is conserved
