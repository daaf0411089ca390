//! invsync domain core (in progress).
