//! REST wire types: escalations.
