@needs-operator @needs-provider-stubs
Feature: The bank provider does not answer in time
  When the transfer request times out, nobody knows yet whether the provider moved the
  money. The saga asks the provider for the transfer's status before deciding, so the
  money is neither lost nor paid twice, whichever way it went.

  Background:
    Given Alice is a customer with 80.00 GBP
    And "Acme Coffee" is a merchant settling in GBP

  Scenario: The provider made the transfer after all: the payment settles once
    Given the bank provider times out after processing the transfer
    When Alice pays "Acme Coffee" 30.00 GBP
    Then spans matching 'span[service="payments" kind=client name="POST /transfers"]' count = 1 and http.request.resend_count != 1
    And the payment ends up settled
    And Alice's balance is 50.00 GBP
    And "Acme Coffee"'s balance is 30.00 GBP
    And the bank provider was asked for 1 transfer from Alice
    And the money in the ledger is conserved

  Scenario: The provider never made the transfer: the payment fails and the money is back
    Given the bank provider times out without processing the transfer
    When Alice pays "Acme Coffee" 30.00 GBP
    Then spans matching 'span[service="payments" kind=client name="POST /transfers"]' count = 1 and status = error
    And the payment fails because "provider_failed"
    And Alice's balance is 80.00 GBP
    And Alice has 0.00 GBP held
    And "Acme Coffee"'s balance is 0.00 GBP
    And the money in the ledger is conserved

  Scenario Outline: Whatever the provider did, money is neither lost nor doubled
    Given the bank provider times out <what> processing the transfer
    When Alice pays "Acme Coffee" 20.00 GBP
    Then the payment ends up <outcome>
    And Alice's balance is <alice>
    And "Acme Coffee"'s balance is <acme>
    And the money in the ledger is conserved

    Examples:
      | what    | outcome | alice     | acme      |
      | after   | settled | 60.00 GBP | 20.00 GBP |
      | without | failed  | 80.00 GBP | 0.00 GBP  |

  # @serial: a provider that keeps failing opens payments' circuit to it, which every payment
  # shares (mesh_circuit_breaking.feature).
  @serial
  Scenario: The provider is down: the payment waits, then fails cleanly when it is back
    Given the bank provider is down
    When Alice pays "Acme Coffee" 25.00 GBP
    Then the payment is processing
    And Alice has 25.00 GBP held
    When the bank provider recovers
    Then the payment fails because "provider_failed"
    And Alice's balance is 80.00 GBP
    And the money in the ledger is conserved
