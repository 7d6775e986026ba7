//! logplex
