@needs-operator
Feature: A client that sends too much is slowed down, and nobody else is
  edge counts requests per client. One that goes over its quota is answered 429 with a
  Retry-After saying when to come back; other clients are served as usual.

  @mesh-rate-limiting
  Scenario: A flooding client is told when to come back; a customer still signs in
    Given Alice is a customer with 10.00 GBP
    When a client asks for tokens until it is told to slow down, at most 6000 times
    Then the client is told to retry after some seconds
    When Alice signs in
    Then Alice holds a customer token
