Feature: The public door answers health checks and describes its API
  Load balancers and monitors ask edge whether it is alive and ready, without a token.
  Integrators read the API description from edge itself.

  @staging-safe
  Scenario Outline: Edge answers <path> without a token
    When a stranger sends GET "<path>"
    Then the response status is 200
    And the response field "status" is "<status>"
    And the response carries a request id and a trace id

    Examples:
      | path          | status |
      | /health/live  | live   |
      | /health/ready | ready  |

  @staging-safe
  Scenario: Edge publishes its OpenAPI description
    When a stranger sends GET "/openapi.json"
    Then the response status is 200
    And the response field "openapi" is "3.1.0"
    And the response field "info.title" is "minibank public API"

  @staging-safe
  Scenario: Every other public route needs a token
    When a stranger sends GET "/v1/webhook-deliveries"
    Then the response is 401 with error code "unauthenticated"
