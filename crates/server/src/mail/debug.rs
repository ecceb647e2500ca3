//! Debug-session mails.
