@needs-operator
Feature: Onboarding and signing in
  The operator onboards customers and merchants. Each gets an account and client
  credentials, and signs in with them to get a short-lived bearer token whose scopes
  say what it may do.

  @staging-safe
  Scenario: A new customer gets an empty account in their currency
    Given Alice is a customer with 0.00 GBP
    Then Alice's balance is 0.00 GBP
    And Alice has 0.00 GBP available

  @staging-safe
  Scenario: A new customer signs in and gets a customer token
    Given Alice is a customer with 0.00 EUR
    When Alice signs in
    Then Alice holds a customer token
    And the token allows "payments:write accounts:read"
    And the token does not allow "parties:write accounts:fund ledger:audit"

  @staging-safe
  Scenario: A new merchant signs in and gets a merchant token
    Given "Acme Coffee" is a merchant settling in GBP
    When "Acme Coffee" signs in
    Then "Acme Coffee" holds a merchant token
    And the token allows "webhooks:write webhooks:read payments:read"
    And the token does not allow "payments:write parties:write"

  @staging-safe
  Scenario: A wrong secret gets no token
    Given Alice is a customer with 0.00 GBP
    When Alice signs in with a wrong secret
    Then the response is 401 with error code "invalid_credentials"

  @staging-safe
  Scenario: The operator signs in and gets an operator token
    When the operator signs in
    Then the operator holds an operator token
    And the token allows "parties:write accounts:fund ledger:audit"
    When the operator signs in with a wrong secret
    Then the response is 401 with error code "invalid_credentials"

  @staging-safe
  Scenario: Credentials nobody was given get no token
    When someone signs in as client "cli_nobody" with secret "guess"
    Then the response is 401 with error code "invalid_credentials"

  @staging-safe
  Scenario: The operator onboards a customer through the public API
    When the operator sends POST "/v1/customers" with body:
      """
      {"name": "Dora Finch [{namespace}]", "currency": "CHF"}
      """
    Then the response status is 201
    And the response field "currency" is "CHF"
    And the response carries a request id and a trace id

  @staging-safe
  Scenario Outline: Customers can hold accounts in <currency>
    Given Alice is a customer with <balance>
    Then Alice's balance is <balance>

    Examples:
      | currency | balance    |
      | GBP      | 10.00 GBP  |
      | EUR      | 250.75 EUR |
      | USD      | 0.01 USD   |
      | JPY      | 5000 JPY   |
      | CHF      | 99.99 CHF  |
