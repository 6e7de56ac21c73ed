//! The live state (skeleton).
