@needs-operator @needs-replicas @needs-faults
Feature: A replica that fails is taken out of rotation, and let back in once it recovers
  edge watches each replica two ways: how it answers calls (one that keeps failing is ejected;
  after a pause one call probes it) and its health checks (one that stops passing them is out
  until it passes again). Requests go to the healthy replicas meanwhile, so customers are
  served throughout. Replicas are shared by every scenario, so these run alone.

  @serial @mesh-failure-detection
  Scenario: A failing ledger replica is ejected, customers are still served, and it comes back
    Given Alice is a customer with 80.00 GBP
    And a second ledger replica is running
    And the second ledger replica fails every call
    When Alice checks her balance 10 times
    Then every read succeeded, served by 1 ledger replica
    And edge takes the failing ledger replica out of rotation
    When the ledger recovers
    Then edge lets the ledger replica back in while Alice keeps reading her balance
    When Alice checks her balance 4 times
    Then every read succeeded, served by 2 ledger replicas
    When the second ledger replica stops
    Then the money in the ledger is conserved

  @serial @mesh-failure-detection
  Scenario: A replica that stops passing its health checks is out until it passes again
    Given Alice is a customer with 80.00 GBP
    And a second ledger replica is running
    When the second ledger replica stops passing its health checks
    Then edge takes the failing ledger replica out of rotation
    When Alice checks her balance 6 times
    Then every read succeeded, served by 1 ledger replica
    When the ledger recovers
    Then edge lets the ledger replica back in while Alice keeps reading her balance
    When Alice checks her balance 4 times
    Then every read succeeded, served by 2 ledger replicas
    When the second ledger replica stops
    Then the money in the ledger is conserved
