//! One direction's reassembly. STUB: replaced by the flow owner.
