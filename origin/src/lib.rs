//! origin — HTTP semantics of llhls (skeleton).
