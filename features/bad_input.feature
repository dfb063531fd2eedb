@needs-operator
Feature: Bad input is refused with a clear answer
  Every public operation checks what it is sent. Malformed JSON, wrong types, missing or
  unknown fields, impossible amounts, unknown currencies and unknown accounts are refused
  with a status and a machine-readable error code that tells the cases apart (and names the
  field that was wrong), and nothing changes.

  Background:
    Given Alice is a customer with 50.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario Outline: Onboarding a customer: <case>
    When the operator sends POST "/v1/customers" with the JSON '<body>'
    Then the response is <status> with error code "<code>"

    Examples:
      | case             | body                                             | status | code             |
      | malformed JSON   | {"name": "Dora", "currency":                     | 400    | malformed_json   |
      | not an object    | ["Dora", "GBP"]                                  | 422    | not_an_object    |
      | name is a number | {"name": 42, "currency": "GBP"}                  | 422    | wrong_type       |
      | missing currency | {"name": "Dora"}                                 | 422    | missing_field    |
      | unknown field    | {"name": "Dora", "currency": "GBP", "vip": true} | 422    | unknown_field    |
      | unknown currency | {"name": "Dora", "currency": "XYZ"}              | 422    | invalid_currency |
      | lower-case code  | {"name": "Dora", "currency": "gbp"}              | 422    | invalid_currency |
      | empty name       | {"name": "  ", "currency": "GBP"}                | 422    | invalid_name     |

  @staging-safe
  Scenario Outline: Onboarding a merchant: <case>
    When the operator sends POST "/v1/merchants" with the JSON '<body>'
    Then the response is <status> with error code "<code>"

    Examples:
      | case             | body                                  | status | code             |
      | malformed JSON   | {"name" "Shop"}                       | 400    | malformed_json   |
      | currency number  | {"name": "Shop", "currency": 826}     | 422    | wrong_type       |
      | unknown currency | {"name": "Shop", "currency": "ABC"}   | 422    | invalid_currency |

  @staging-safe
  Scenario Outline: Topping up an account: <case>
    When the operator sends POST "/v1/accounts/<account>/top-ups" with the JSON '<body>'
    Then the response is <status> with error code "<code>"
    And Alice's balance is 50.00 GBP

    Examples:
      | case               | account                                   | body                                          | status | code             |
      | zero amount        | {Alice.account_id}                        | {"amount": 0, "currency": "GBP"}              | 422    | invalid_amount   |
      | negative amount    | {Alice.account_id}                        | {"amount": -500, "currency": "GBP"}           | 422    | invalid_amount   |
      | fractional amount  | {Alice.account_id}                        | {"amount": 10.5, "currency": "GBP"}           | 422    | invalid_amount   |
      | too large          | {Alice.account_id}                        | {"amount": 100000000001, "currency": "GBP"}   | 422    | invalid_amount   |
      | amount as text     | {Alice.account_id}                        | {"amount": "100", "currency": "GBP"}          | 422    | invalid_amount   |
      | unknown currency   | {Alice.account_id}                        | {"amount": 100, "currency": "QQQ"}            | 422    | invalid_currency |
      | unknown account    | acc_0190f4a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6  | {"amount": 100, "currency": "GBP"}            | 404    | account_not_found |
      | malformed JSON     | {Alice.account_id}                        | {"amount": 100,                               | 400    | malformed_json   |

  @staging-safe
  Scenario Outline: Paying: <case>
    When Alice asks to pay with the JSON '<body>'
    Then the response is <status> with error code "<code>"
    And Alice's balance is 50.00 GBP
    And the money in the ledger is conserved

    Examples:
      | case              | body                                                                                 | status | code             |
      | zero amount       | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": 0, "currency": "GBP"}         | 422    | invalid_amount   |
      | negative amount   | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": -1, "currency": "GBP"}        | 422    | invalid_amount   |
      | overflowing       | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": 100000000001, "currency": "GBP"} | 422 | invalid_amount   |
      | unknown currency  | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": 100, "currency": "XXX"}       | 422    | invalid_currency |
      | amount missing    | {"merchant_id": "{Acme Coffee.merchant_id}", "currency": "GBP"}                      | 422    | missing_field    |
      | unknown field     | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": 1, "currency": "GBP", "tip": 1} | 422  | unknown_field    |
      | unknown merchant  | {"merchant_id": "mer_0190f4a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6", "amount": 1, "currency": "GBP"} | 422 | unknown_merchant |
      | malformed JSON    | {"merchant_id": "{Acme Coffee.merchant_id}", "amount": 1                             | 400    | malformed_json   |

  @staging-safe
  Scenario Outline: Signing in: <case>
    When a stranger sends POST "/v1/tokens" with the JSON '<body>'
    Then the response is <status> with error code "<code>"

    Examples:
      | case            | body                                                     | status | code            |
      | malformed JSON  | {"client_id": "x"                                        | 400    | malformed_json  |
      | missing secret  | {"client_id": "x"}                                       | 422    | missing_field   |
      | secret a number | {"client_id": "x", "client_secret": 7}                   | 422    | wrong_type      |

  @staging-safe
  Scenario Outline: Registering a webhook endpoint: <case>
    When "Acme Coffee" sends POST "/v1/webhook-endpoints" with the JSON '<body>'
    Then the response is <status> with error code "<code>"

    Examples:
      | case              | body                                                              | status | code            |
      | malformed JSON    | {"url": "https://acme.example/hooks"                              | 400    | malformed_json  |
      | events not a list | {"url": "https://acme.example/hooks", "events": "payment.settled"} | 422    | wrong_type      |
      | unknown field     | {"url": "https://acme.example/hooks", "events": [], "x": 1}        | 422    | unknown_field   |

  @staging-safe
  Scenario: An oversized body is refused before it is read
    When the operator sends POST "/v1/customers" with a body of 200000 bytes
    Then the response is 413 with error code "payload_too_large"

  @staging-safe
  Scenario Outline: Reading something that does not exist: <case>
    When <who> sends GET "<path>"
    Then the response is 404 with error code "not_found"

    Examples:
      | case             | who           | path                                                  |
      | unknown account  | Alice         | /v1/accounts/acc_0190f4a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6 |
      | unknown payment  | Alice         | /v1/payments/pay_0190f4a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6 |
      | unknown route    | the operator  | /v1/nothing-here                                      |
