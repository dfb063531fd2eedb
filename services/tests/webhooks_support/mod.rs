//! webhooks as the services' tests run it outside a platform: millisecond retries, and allowed
//! to deliver to the merchants' wiremock endpoints on 127.0.0.1 (a platform sets its own
//! destination policy; a bare `Settings::new` allows public destinations only, as production).

use std::time::Duration;

use minibank::webhooks::{Settings, destination::DestinationPolicy, schedule::RetrySchedule};

/// Settings for webhooks on `database_url`: retries after 20, 40 and 80 ms, loopback stand-ins
/// allowed as destinations.
pub fn test_settings(database_url: String) -> Settings {
    let mut settings = Settings::new(database_url);
    settings.retry_schedule = RetrySchedule::new(vec![
        Duration::from_millis(20),
        Duration::from_millis(40),
        Duration::from_millis(80),
    ]);
    settings.destinations = DestinationPolicy::loopback_stand_ins();
    settings
}
