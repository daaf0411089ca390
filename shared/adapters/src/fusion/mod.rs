//! Fusion REST client (in progress).
