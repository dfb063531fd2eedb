@benchmark
Feature: Harness overhead
  Steps that do nothing, for measuring the runner's own cost per step (BENCHMARKS.md).
  They touch no platform and need no capability.

  Scenario: Ten steps that do nothing
    Given nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
    And nothing happens
