//! REST wire types: sessions.
