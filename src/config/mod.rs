//! Configuration loading: a [`ServiceClientBuilder`](crate::ServiceClientBuilder) from the
//! `OS_*` variables of an openrc file (`env`), or from a cloud of clouds.yaml / clouds.json
//! with secure.yaml merged over it (`clouds`), through one flat set of openstacksdk's key
//! names that remembers where each value came from (`settings`), so that an error names the
//! variable, or the file and the key.
//!
//! It uses only the client's public builder: the client knows nothing of where its
//! settings came from.

mod clouds;
mod env;
mod settings;
