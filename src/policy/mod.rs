//! **policy**: configured HTTPS endpoints → findings. STUB.
