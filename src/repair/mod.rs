//! `fix`: plan the edits that put Docker's rules back where Docker keeps
//! them, touching nothing else, and apply them atomically per back end.

pub mod place;
