//! Adapters of the domain's [`Mailer`](crate::domain::mail::Mailer) port.

pub mod smtp;
