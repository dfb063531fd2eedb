@needs-operator
Feature: Who may see what
  Every call but signing in needs a valid token, and a token only opens what belongs to
  its holder. Another party's account or payment is simply "not found", so nobody can
  even learn that it exists.

  Background:
    Given these customers:
      | customer | currency | balance |
      | Alice    | GBP      | 40.00   |
      | Bob      | GBP      | 10.00   |
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario: A customer reads their own account
    When Alice reads Alice's account
    Then the response status is 200
    And the response field "balance" is "4000"
    And the response field "owner_id" is "{Alice.customer_id}"

  @staging-safe
  Scenario: A customer cannot read another customer's account
    When Bob reads Alice's account
    Then the answer reveals nothing about Alice

  @staging-safe
  Scenario: A merchant cannot read a customer's account
    When "Acme Coffee" reads Alice's account
    Then the answer reveals nothing about Alice

  @staging-safe
  Scenario: A customer cannot look up another customer's payment
    When Alice pays "Acme Coffee" 5.00 GBP
    And Bob looks up the payment
    Then the response is 404 with error code "not_found"
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Another merchant cannot look up the payment
    Given "Bean There" is a merchant settling in GBP
    When Alice pays "Acme Coffee" 5.00 GBP
    And "Bean There" looks up the payment
    Then the response is 404 with error code "not_found"
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Without a token nothing is readable
    When a stranger reads Alice's account
    Then the response is 401 with error code "unauthenticated"

  @staging-safe
  Scenario: A forged token is refused
    When someone with a forged token reads Alice's account
    Then the response is 401 with error code "unauthenticated"

  @staging-safe
  Scenario: A customer cannot audit the ledger
    When Alice asks for the ledger audit
    Then the response is 403 with error code "forbidden"

  @staging-safe
  Scenario: The operator can audit the ledger
    When the operator asks for the ledger audit
    Then the response status is 200
    And the response field "balanced" is "true"

  @staging-safe
  Scenario Outline: A customer cannot do the operator's work
    When Alice sends POST "<path>" with the JSON '<body>'
    Then the response is 403 with error code "forbidden"

    Examples:
      | path                                    | body                                          |
      | /v1/customers                           | {"name": "Mallory", "currency": "GBP"}        |
      | /v1/merchants                           | {"name": "Mallory Ltd", "currency": "GBP"}    |
      | /v1/accounts/{Alice.account_id}/top-ups | {"amount": 100000, "currency": "GBP"}         |
