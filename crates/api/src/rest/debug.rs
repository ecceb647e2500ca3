//! REST wire types: debug.
