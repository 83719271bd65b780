//! Keystone v3: credentials, scopes, the token request body, the token answer and the
//! choice of the block-storage endpoint from the catalog.
//!
//! Nothing here talks to the network: the client sends what this module builds and hands
//! back what Keystone answered. The opt-in [`TokenCache`] keeps tokens on disk between
//! processes.

mod cache;
mod catalog;
mod options;
mod secret;
pub(crate) mod token;

pub(crate) use cache::Discovered;
pub use cache::TokenCache;
pub(crate) use cache::fnv1a;
pub use catalog::Interface;
pub(crate) use catalog::select_endpoint;
pub use options::{AuthMethod, AuthOptions, Domain, Scope, User};
pub use secret::Secret;
