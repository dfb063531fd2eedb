@needs-operator
Feature: Webhooks cannot be turned inward
  A merchant chooses where its webhooks go, so a merchant could try to make minibank call
  something inside the platform: its own services, a cloud's metadata service, a private
  network. Such a destination is refused when it is registered, and checked again after DNS
  at every delivery. The operator can name exceptions (the test platforms name their
  merchant stand-ins); a production platform names none.

  Background:
    Given "Acme Coffee" is a merchant settling in GBP

  # No address below is ever called: each is a string that must be refused before any
  # connection is made.
  @staging-safe
  Scenario Outline: An inward destination is refused at registration: <case>
    When "Acme Coffee" registers the webhook endpoint "<url>"
    Then the response is 422 with error code "destination_refused"
    And the destination is refused as "<reason>"

    Examples:
      | case                            | url                                          | reason                                    |
      | loopback on a privileged port   | http://127.0.0.1:9/hook                      | a loopback address                        |
      | loopback, IPv6                  | http://[::1]:80/x                            | a loopback address                        |
      | localhost                       | http://localhost:8080/x                      | a loopback address                        |
      | loopback as a decimal number    | http://2130706433/                           | a loopback address                        |
      | loopback in octal               | http://0177.0.0.1/                           | a loopback address                        |
      | private, RFC 1918               | http://10.0.0.1/x                            | a private address (RFC 1918)              |
      | private, IPv4-mapped IPv6       | http://[::ffff:192.168.0.1]/x                | a private address (RFC 1918)              |
      | link-local                      | http://169.254.10.1/x                        | a link-local address                      |
      | unique-local                    | http://[fd12:3456::1]/x                      | a unique-local address (fc00::/7)         |
      | cloud metadata                  | http://169.254.169.254/latest/meta-data/     | a cloud metadata service                  |
      | cloud metadata, IPv6            | http://[fd00:ec2::254]/latest/meta-data/     | a cloud metadata service                  |
      | cloud metadata by name          | http://metadata.google.internal/computeMetadata/v1/ | a cloud metadata service           |
      | unspecified                     | http://0.0.0.0:8080/x                        | the unspecified address                   |
      | one of the platform's services  | http://ledger/holds                          | one of the platform's own services        |
      | a platform service in-cluster   | http://auth.minibank.svc.cluster.local/x     | one of the platform's own services        |

  @needs-merchant-endpoints
  Scenario: The operator's allow-list lets webhooks reach the stand-in, and nothing more
    # The test platforms allow their merchant stand-ins' address on unprivileged ports only.
    Given Alice is a customer with 20.00 GBP
    And "Acme Coffee" listens for payment webhooks
    When Alice pays "Acme Coffee" 5.00 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And "Acme Coffee"'s delivery for the payment is delivered after 1 attempt
    When "Acme Coffee" registers a webhook endpoint on its endpoint's host at port 80
    Then the response is 422 with error code "destination_refused"
