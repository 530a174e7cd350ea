//! **report**: one Report, many renderers. STUB.
