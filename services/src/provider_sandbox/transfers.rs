//! The bank provider's side of the sandbox: `POST /transfers` and `GET /transfers/{id}`, with
//! the contract of the provider stand-in the tests use (services/API.md, "External bank
//! provider"): every valid transfer is accepted, a transfer id is processed once (the same
//! transfer sent again gets the first answer), and a status query answers `accepted` for a
//! transfer it processed, 404 for one it does not know.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::bounded::Bounded;
use super::error::SandboxError;
use crate::http_error::ApiJson;

/// Ids and account numbers longer than this are refused: with the reference's limit, they
/// bound what one remembered transfer costs.
const MAX_ID_LEN: usize = 128;
/// A reference longer than this is refused.
const MAX_REFERENCE_LEN: usize = 256;

/// A transfer as the platform submits it (and as the sandbox remembers it).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    transfer_id: String,
    amount: i64,
    currency: String,
    debtor_account: String,
    creditor_account: String,
    #[serde(default)]
    reference: Option<String>,
}

impl Transfer {
    fn validate(&self) -> Result<(), SandboxError> {
        let invalid = |message: String| Err(SandboxError::InvalidTransfer(message));
        for (field, value) in [
            ("transfer_id", &self.transfer_id),
            ("debtor_account", &self.debtor_account),
            ("creditor_account", &self.creditor_account),
        ] {
            if value.is_empty() || value.len() > MAX_ID_LEN {
                return invalid(format!("{field} must be 1 to {MAX_ID_LEN} characters"));
            }
        }
        if self.amount <= 0 {
            return invalid(format!("amount must be positive, not {}", self.amount));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return invalid(format!(
                "currency must be an ISO 4217 code, not `{}`",
                self.currency
            ));
        }
        if self
            .reference
            .as_ref()
            .is_some_and(|r| r.len() > MAX_REFERENCE_LEN)
        {
            return invalid(format!(
                "reference must be at most {MAX_REFERENCE_LEN} characters"
            ));
        }
        Ok(())
    }
}

/// The transfers the sandbox processed, newest kept, oldest forgotten beyond the capacity.
#[derive(Clone, Debug)]
pub struct TransferBook(Arc<Mutex<Bounded<String, Transfer>>>);

impl TransferBook {
    /// A book remembering at most `capacity` transfers.
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(Mutex::new(Bounded::new(capacity))))
    }

    /// Processes `transfer` once: true if it is new, false if the same transfer was already
    /// processed; refused if its id was used for another transfer.
    fn accept(&self, transfer: Transfer) -> Result<bool, SandboxError> {
        let mut book = self.0.lock();
        let mut new = false;
        let kept = book.get_or_insert_with(transfer.transfer_id.clone(), || {
            new = true;
            transfer.clone()
        });
        if *kept != transfer {
            return Err(SandboxError::TransferIdReused(transfer.transfer_id));
        }
        Ok(new)
    }

    fn get(&self, transfer_id: &str) -> Option<Transfer> {
        self.0.lock().get(&transfer_id.to_owned()).cloned()
    }
}

/// `POST /transfers`: 201 `{"transfer_id","status":"accepted"}` the first time, 200 with the
/// same body when the same transfer comes again.
pub async fn submit(
    State(book): State<TransferBook>,
    ApiJson(transfer): ApiJson<Transfer>,
) -> Result<Response, SandboxError> {
    transfer.validate()?;
    let transfer_id = transfer.transfer_id.clone();
    let status = if book.accept(transfer)? {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({"transfer_id": transfer_id, "status": "accepted"});
    Ok((status, Json(body)).into_response())
}

/// `GET /transfers/{transfer_id}`: 200 the transfer with `"status":"accepted"`, or 404.
pub async fn status(
    State(book): State<TransferBook>,
    Path(transfer_id): Path<String>,
) -> Result<Response, SandboxError> {
    let transfer = book
        .get(&transfer_id)
        .ok_or(SandboxError::TransferNotFound(transfer_id))?;
    let mut body = json!(transfer);
    body["status"] = json!("accepted");
    Ok(Json(body).into_response())
}
