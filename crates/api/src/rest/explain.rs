//! REST wire types: explain.
