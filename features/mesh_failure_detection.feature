@needs-operator @needs-replicas @needs-faults
Feature: A replica that keeps failing is taken out of rotation, and let back in once it recovers
  edge watches how each replica answers. One that keeps failing is ejected: requests go to the
  healthy replicas instead (a failed read is retried on another one). After a pause edge
  tries it again, and when it answers it is back in rotation. Replicas are shared by every
  scenario, so this runs alone.

  @serial @mesh-failure-detection
  Scenario: A failing ledger replica is ejected, customers are still served, and it comes back
    Given Alice is a customer with 80.00 GBP
    And a second ledger replica is running
    And the second ledger replica fails every call
    When Alice checks her balance 10 times
    Then every read succeeded, served by 1 ledger replica
    And edge has taken the failing ledger replica out of rotation
    When the ledger recovers
    Then edge lets the ledger replica back in while Alice keeps reading her balance
    When Alice checks her balance 4 times
    Then every read succeeded, served by 2 ledger replicas
    When the second ledger replica stops
    Then the money in the ledger is conserved
