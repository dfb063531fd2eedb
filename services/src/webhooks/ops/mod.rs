//! The webhooks routes, one file each.

pub mod list_deliveries;
pub mod receive_event;
pub mod register_endpoint;
