//! Tests of the C ABI: the committed header, and the calls as C would make them.
// Calling the extern "C" functions is what these tests are for.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abi;
mod header;
