use crate::engine::kubectl::{Error, Result, Session};

pub fn run(s: &mut Session) -> Result {
    Err(Error::Message(format!("error: \"{}\" is not implemented yet", s.args.command)))
}

pub fn replace(s: &mut Session) -> Result {
    run(s)
}
