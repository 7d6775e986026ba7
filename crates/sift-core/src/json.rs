//! JSON events into [`Event`]s. Being written.
