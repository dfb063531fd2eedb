//! The ledger's operations, one file each, read as parse → apply → encode.

pub mod audit;
pub mod capture;
pub mod close_account;
pub mod get_account;
pub mod hold;
pub mod list_accounts;
pub mod open_account;
pub mod release;
pub mod top_up;
