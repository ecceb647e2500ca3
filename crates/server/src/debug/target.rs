//! Debug sessions on the hub: target.
