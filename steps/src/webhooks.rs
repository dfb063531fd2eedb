//! webhooks steps (in progress).
