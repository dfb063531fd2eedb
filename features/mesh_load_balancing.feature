@needs-operator @needs-replicas
Feature: Replicas join and leave while the bank runs, and share the work
  A service can run as several replicas. When one is added, edge finds it without a restart
  (service discovery) and spreads requests over all of them (load balancing); when one is
  removed, edge stops sending to it before it stops, and nobody notices. Which replica served
  a request is visible in its trace (`service.instance.id`). Replicas are shared by every
  scenario, so these run alone.

  @serial @mesh-service-discovery @mesh-load-balancing
  Scenario: A second ledger replica joins, takes its share of reads, and leaves unnoticed
    Given Alice is a customer with 80.00 GBP
    When Alice checks her balance 4 times
    Then every read succeeded, served by 1 ledger replica
    When a second ledger replica starts
    And Alice checks her balance 4 times
    Then every read succeeded, served by 2 ledger replicas
    When the second ledger replica stops
    And Alice checks her balance 4 times
    Then every read succeeded, served by 1 ledger replica
    And the money in the ledger is conserved
