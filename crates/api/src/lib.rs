//! CRD types of `breakglass.t-caas.telekom.com/v1alpha1`.
