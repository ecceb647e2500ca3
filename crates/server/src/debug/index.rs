//! Debug sessions on the hub: index.
