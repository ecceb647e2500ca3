//! Debug sessions on the hub: reconciling them ([`reconcile`]), applying their deploy
//! plans on target clusters ([`apply`], as a ServiceAccount with [`impersonation`]) and
//! removing them again ([`target`]), following their pods
//! ([`pods`]), their timers ([`timers`]), and the webhook's index of the pod access
//! they grant ([`index`]). The pure rules live in `breakglass_core::debug`; this module
//! only applies them.

pub mod apply;
pub mod impersonation;
pub mod index;
pub mod kubectl_ops;
pub mod pods;
pub mod reconcile;
pub mod target;
pub mod timers;
