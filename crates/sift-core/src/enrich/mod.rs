//! Topics, identities, normalization and fingerprints. Being written.
