//! The ledger's operations, one file each (parse the request, apply it, encode the answer).

pub mod audit;
pub mod capture;
pub mod close_account;
pub mod get_account;
pub mod hold;
mod hold_row;
pub mod list_accounts;
pub mod open_account;
pub mod release;
pub mod top_up;
