@needs-operator @needs-faults @needs-metrics
Feature: Every service counts its requests, failures and time, per route
  Each service records, for every route, how many requests it answered, how many failed and
  how long they took, and exports them over OTLP when a metrics endpoint is configured. A test
  platform labels each request's figures with the scenario it was made for, so this scenario
  reads its own, while others run beside it.

  @mesh-metrics
  Scenario: Balance reads, one of them failing, show up in edge's figures
    Given Alice is a customer with 80.00 GBP
    And the bank's figures are noted
    And the ledger fails the next 3 reads of Alice's account
    When Alice checks her balance 4 times
    Then edge counted 4 more requests to GET "/v1/accounts/{account_id}", 1 of them failed
    And the money in the ledger is conserved
