@needs-operator
Feature: A client that sends too much is slowed down, and nobody else is
  edge counts requests per client (sign-in attempts per client id, with a tighter quota). One
  that goes over its quota is answered 429 with a Retry-After saying when to come back; other
  clients are served as usual.

  @mesh-rate-limiting
  Scenario: A flooding client is told when to come back; a customer still signs in
    Given Alice is a customer with 10.00 GBP
    When a client asks for tokens until it is told to slow down, at most 2000 times
    Then the client is told to retry after some seconds
    When Alice signs in
    Then Alice holds a customer token
    And the money in the ledger is conserved
