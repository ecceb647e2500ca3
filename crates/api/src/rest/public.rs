//! REST wire types: public.
