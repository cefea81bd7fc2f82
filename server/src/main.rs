//! `stackbill`: the command line of the billing engine; everything it does is in the
//! `stackbill_server` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    stackbill_server::main()
}
