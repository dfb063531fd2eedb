@needs-operator @needs-metrics
Feature: Services keep their connections to each other open and reuse them
  Opening a connection for every call between services would cost time on every request.
  Calls go over a shared pool of open connections instead. A pooled connection serves whichever
  scenario calls next, so its counters are the platform's: this reads them alone.

  @serial @mesh-connection-pooling
  Scenario: Twenty balance reads reuse the connections already open
    Given Alice is a customer with 80.00 GBP
    And Alice checks her balance
    And the bank's figures are noted
    When Alice checks her balance 20 times
    Then at least 40 calls between services went over at most 2 new connections
    And the money in the ledger is conserved
