# Not part of the suite: the run that `report_in_browser` makes to check the HTML report the
# way a person sees it. One scenario passes with a payment and its webhook; one fails on
# purpose, with a wrong expected balance, so the report has a failure to show.
@needs-operator @needs-merchant-endpoints
Feature: The report shows a payment and a failure

  Background:
    Given Alice is a customer with 100.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    And "Acme Coffee" listens for payment webhooks

  @report-pays
  Scenario: A payment is settled and its webhook arrives
    When Alice pays "Acme Coffee" 12.50 GBP
    Then "Acme Coffee" receives a payment.settled webhook for the payment
    And Alice's balance is 87.50 GBP

  @report-fails
  Scenario: A balance check that is wrong on purpose
    When Alice pays "Acme Coffee" 10.00 GBP
    Then Alice's balance is 99.99 GBP
