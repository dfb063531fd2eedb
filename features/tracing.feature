@needs-operator
Feature: Every request is traced end to end
  Operators follow one payment across every service by its trace id. The platform
  continues the caller's trace, tells the caller its trace id, restarts the trace when
  the caller's context is broken, and carries the same trace id from the payment request
  all the way to the merchant's webhook.

  Background:
    Given Alice is a customer with 60.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  @staging-safe
  Scenario: The platform continues my trace and tells me its id
    When Alice reads Alice's account
    Then the response status is 200
    And the traceresponse carries my trace id
    And the response carries a request id and a trace id

  @staging-safe
  Scenario: A payment's trace passes through every service it uses
    When Alice pays "Acme Coffee" 10.00 GBP
    Then the payment is settled
    And the traceresponse carries my trace id
    And the trace passes through edge, payments, ledger and the provider
    And the trace visits edge, payments, ledger and the provider in that order
    And the money in the ledger is conserved

  @staging-safe
  Scenario: A payment's trace is one tree
    When Alice pays "Acme Coffee" 10.00 GBP
    Then the trace has one root and no orphan spans
    And the trace looks like:
      """
      harness POST /v1/payments
        edge POST /v1/payments
          ...
            payments POST /v1/payments
              ...
                ledger POST /holds
      """
    And the money in the ledger is conserved

  @staging-safe
  Scenario: Spans follow the HTTP semantic conventions
    When Alice pays "Acme Coffee" 10.00 GBP
    Then the server span "POST /v1/payments" in service "edge" has attribute "http.response.status_code" equal to "201"
    And the server span "POST /v1/payments" in service "edge" has attribute "http.request.method" equal to "POST"
    And the client span "POST /holds" in service "payments" has attribute "peer.service" equal to "ledger"
    And the client span "POST /holds" in service "payments" has attribute "url.template" equal to "/holds"
    And the client span "POST /holds" in service "payments" has attribute "http.response.status_code" equal to "201"
    And spans matching 'span[service="edge" kind=server name="POST /v1/payments"]' count = 1 and attr http.response.status_code = 201
    And spans matching 'span[service="payments" kind=client] > span[service="ledger" kind=server]' count >= 1 and http.response.status_code < 300
    And spans matching 'span[service="payments"]' event != "exception"
    And the money in the ledger is conserved

  @needs-merchant-endpoints
  Scenario: One trace id from the payment request to the merchant's webhook
    Given "Acme Coffee" listens for payment webhooks
    When Alice pays "Acme Coffee" 15.00 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And the webhook carries the payment's trace id
    And the trace passes through edge, auth, payments, ledger, the provider and webhooks
    And the trace passes through webhooks and the merchant's endpoint
    And the trace has one root and no orphan spans
    And the webhook delivery is a child of the payment's trace
    And "Acme Coffee" receives the webhook within 10000 ms of the payment request
    And the money in the ledger is conserved

  @staging-safe
  Scenario Outline: An invalid traceparent restarts the trace: <case>
    When Alice sends GET "/v1/accounts/{Alice.account_id}" with the traceparent "<traceparent>"
    Then the response status is 200
    And the platform started a new trace

    Examples:
      | case                | traceparent                                             |
      | all-zero trace id   | 00-00000000000000000000000000000000-00f067aa0ba902b7-01 |
      | all-zero parent id  | 00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01 |
      | forbidden version   | ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 |
      | upper-case hex      | 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 |
      | too short           | 00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01   |
      | not hex             | 00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01 |
      | garbage             | hello                                                   |

  @needs-logs
  Scenario: Every log line about a request carries its trace id
    When Alice pays "Acme Coffee" 5.00 GBP
    Then the payment is settled
    And every log line of that request carries its trace id
    And the money in the ledger is conserved
