//! The breakglass hub server: REST API, authorization webhook, controllers.
