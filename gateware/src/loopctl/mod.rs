//! Loop control: regeneration of every frame that comes back from the fiber,
//! filling an empty loop, delay measurement, slot reads and writes for the
//! host, and the payload tap for the MAC array.

pub mod controller;
