//! Endpoints: public.
