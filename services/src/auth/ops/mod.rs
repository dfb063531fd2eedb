//! auth's operations, one file each, read as parse -> apply -> encode.

pub mod introspect;
pub mod issue_token;
pub mod onboard_customer;
pub mod onboard_merchant;
