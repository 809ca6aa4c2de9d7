//! Integration requests as the host sends them: the request a playbook asks for, its answer, and
//! (in submodules) resolving the profile, checking the host, authenticating and sending.

mod types;

pub use types::{IncomingResponse, OutgoingRequest, RequestBody};

mod auth;
mod client;
mod error;
mod request;

pub use client::{Clock, FixedClock, HttpConfig, HttpInitError, Integrations, SystemClock};
pub use error::SendError;
