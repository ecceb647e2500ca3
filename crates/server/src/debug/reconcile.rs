//! Debug sessions on the hub: reconcile.
